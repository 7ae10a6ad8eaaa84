#if canImport(Glibc)
import Glibc
#endif

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, count in fuzzerTestOneInput(data, count) })
