import Testing

/// The kernel suites nest here. Each passes the bodies it tests per call (`KernelConfig`), so
/// they share no process-wide state and may run side by side.
@Suite enum KernelSwitches {}
