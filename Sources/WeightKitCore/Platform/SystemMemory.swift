/// Memory figures of the system and this process, from Linux's /proc files (`ProcFile`); nil on
/// systems without them.
public enum SystemMemory {
    /// Bytes the system can give to new allocations without swapping (`MemAvailable`).
    public static var available: Int? { ProcFile.value("MemAvailable", in: "/proc/meminfo").map { $0 * 1024 } }

    /// The most bytes this process has had resident at once (`VmHWM`).
    public static var peakResident: Int? { ProcFile.value("VmHWM", in: "/proc/self/status").map { $0 * 1024 } }
}
