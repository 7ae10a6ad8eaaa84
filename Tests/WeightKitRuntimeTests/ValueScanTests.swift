import CWeightKitKernels
import Testing
import WeightKitRuntime
import WeightKitTestSupport
@testable import WeightKit

extension KernelSwitches {
    /// `validate`'s value census: the C scan (AVX2 and portable) against the Swift reference, on
    /// odd lengths full of the special values the counts are about.
    @Suite("Value scan")
    struct ValueScanTests {
        static let specials: [Float] = [.nan, -.nan, .infinity, -.infinity, 0, -0, 1e-40, -1e-40, 65504, 65520, -7e4, 2e4, -1e4, 1e4, 3e38, .greatestFiniteMagnitude]

        static func values(_ count: Int, seed: UInt64) -> [Float] {
            var state = seed
            return (0..<count).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let r = Int(state >> 40)
                if r % 5 == 0 { return specials[r / 5 % specials.count] }
                return Float(Int32(truncatingIfNeeded: r) % 40_000) * 0.75
            }
        }

        @Test("counts equal the Swift reference for lengths 0…70 and a long run, AVX2 and portable", arguments: [false, true])
        func matchesReference(portable: Bool) {
            for count in Array(0...70) + [4099, 1 << 20 + 3] {
                let data = Self.values(count, seed: UInt64(count) + 1)
                var fast = ValueScan(), reference = ValueScan()
                unsafe data.withUnsafeBufferPointer { buffer in
                    if portable {
                        fast = Self.scan(buffer, isa: WK_ISA_PORTABLE)
                    } else {
                        unsafe fast.add(buffer, limit: 1e4, targetMax: 65504)
                        #expect(Self.scan(buffer, isa: Int32(InstructionSet.cpu.rawValue)) == fast, "count \(count): add is the CPU's body")
                    }
                    unsafe reference.addReference(buffer, limit: 1e4, targetMax: 65504)
                }
                #expect(fast == reference, "count \(count)")
            }
        }

        /// `values` counted by the C scan's bodies for `isa` (`ValueScan.add` takes the CPU's).
        static func scan(_ values: UnsafeBufferPointer<Float>, isa: wk_isa) -> ValueScan {
            scan(values, isa: Int32(isa.rawValue))
        }

        static func scan(_ values: UnsafeBufferPointer<Float>, isa: Int32) -> ValueScan {
            var counts = wk_value_scan(), scan = ValueScan()
            if let base = values.baseAddress { unsafe wk_scan_f32_isa(isa, base, values.count, 1e4, 65504, &counts) }
            scan.count = values.count
            scan.nan = counts.nan
            scan.inf = counts.inf
            scan.nonZero = counts.nonzero
            scan.beyondLimit = counts.beyond_limit
            scan.beyondTarget = counts.beyond_target
            scan.maxAbs = Float(bitPattern: counts.max_abs_bits)
            return scan
        }

        @Test("a hand-counted array")
        func handCounted() {
            let data: [Float] = [.nan, .infinity, -.infinity, 0, -0, 2e4, -3, 7e4]
            var scan = ValueScan()
            unsafe data.withUnsafeBufferPointer { unsafe scan.add($0, limit: 1e4, targetMax: 65504) }
            #expect(scan.nan == 1 && scan.inf == 2 && scan.nonZero == 3)
            #expect(scan.beyondLimit == 2 && scan.beyondTarget == 1 && scan.maxAbs == 7e4 && scan.count == 8)
        }
    }
}
