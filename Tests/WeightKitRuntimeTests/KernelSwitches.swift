import Testing

/// The suites that flip the process-wide kernel switches (`MatMul.forcePortable`,
/// `QuantizedMatMul.f32Activations`) nest here, so they run one at a time and never see each
/// other's settings.
@Suite(.serialized) enum KernelSwitches {}
