// The `weightkit` executable: everything lives in WeightKitCLI.
import WeightKitCLI

WeightKitCommand.main()
