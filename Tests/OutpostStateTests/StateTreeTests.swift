import OutpostRPC
import Testing

@testable import OutpostState

@Suite("state updates and diffs")
struct StateTreeTests {
    @Test func updatesFollowTheFoldingAtHomeSemantics() throws {
        var state: JSONValue = ["lanes": ["a": ["state": "run"]], "log": ["x"], "n": 1]
        try state.apply(StateUpdate([.key("lanes"), .key("a"), .key("state")], "pause"))
        try state.apply(StateUpdate([.key("log"), .append], "y"))
        try state.apply(StateUpdate([.key("log"), .concatenate], ["z", "w"]))
        try state.apply(StateUpdate([.key("log"), .index(0)], .null))
        try state.apply(StateUpdate([.key("n")], .null))
        try state.apply(StateUpdate([.key("lanes"), .key("b")], ["state": "idle"]))
        #expect(state == ["lanes": ["a": ["state": "pause"], "b": ["state": "idle"]], "log": ["y", "z", "w"]])
    }

    @Test func theWireFormRoundTripsAndBadPathsAreErrors() throws {
        let update = StateUpdate([.key("tasks"), .index(3), .append], 7)
        #expect(update.json == ["tasks", 3, -1, 7])
        #expect(StateUpdate(json: update.json) == update)
        #expect(StateUpdate(json: [1]) == nil)
        #expect(StateUpdate(json: ["a", -3, 1]) == nil)
        #expect(StateUpdate(json: [true, 1]) == nil)

        var state: JSONValue = ["a": [1, 2], "b": "text"]
        let before = state
        for bad in [
            StateUpdate([.key("missing"), .key("x")], 1), StateUpdate([.key("a"), .index(5)], 1),
            StateUpdate([.key("b"), .key("x")], 1), StateUpdate([.key("a"), .concatenate], 1),
            StateUpdate([.key("a"), .key("x"), .key("y")], 1), StateUpdate([], 1),
        ] {
            #expect(throws: StateUpdateError.self) { try state.apply(bad) }
            #expect(state == before, "a failed update left the state changed: \(bad)")
        }
    }

    @Test func diffsOfArraysUseAppendsWhenTheyOnlyGrew() {
        let old: JSONValue = ["log": ["a"], "same": [1, 2]]
        #expect(
            StateDiff.updates(from: old, to: ["log": ["a", "b"], "same": [1, 2]]) == [
                StateUpdate([.key("log"), .append], "b")
            ]
        )
        #expect(
            StateDiff.updates(from: old, to: ["log": ["a", "b", "c"], "same": [1, 2]]) == [
                StateUpdate([.key("log"), .concatenate], ["b", "c"])
            ]
        )
        #expect(
            StateDiff.updates(from: old, to: ["log": ["a"], "same": [1, 3]]) == [
                StateUpdate([.key("same"), .index(1)], 3)
            ]
        )
        #expect(
            StateDiff.updates(from: old, to: ["log": []]) == [
                StateUpdate([.key("same")], .null), StateUpdate([.key("log")], []),
            ]
        )
    }

    /// The property the stream rests on: for random sequences of changes, applying every emitted update to the first
    /// snapshot gives exactly the last state.
    @Test func applyingTheDiffsToTheFirstSnapshotAlwaysGivesTheLastState() throws {
        var random = SeededRandom(seed: 0x5EED)
        for _ in 0..<300 {
            let first = RandomState.object(depth: 0, using: &random)
            var replica = first
            var current = first
            for _ in 0..<Int.random(in: 1...20, using: &random) {
                let next = RandomState.mutate(current, using: &random)
                let updates = StateDiff.updates(from: current, to: next)
                let before = replica
                for update in updates {
                    // Every update also survives the wire form.
                    let decoded = try #require(
                        StateUpdate(json: try JSONCoding.parse(JSONCoding.serialize(update.json)))
                    )
                    try replica.apply(decoded)
                }
                // Compared as JSON text: the wire does not keep 1.0 and 1 apart, and neither need the state.
                let same = JSONCoding.serialize(replica) == JSONCoding.serialize(next)
                #expect(
                    same,
                    """
                    from \(JSONCoding.serializeToString(before))
                    to \(JSONCoding.serializeToString(next))
                    by \(updates) gave \(JSONCoding.serializeToString(replica))
                    """
                )
                guard same else { return }
                current = next
            }
        }
    }
}

/// A small deterministic generator, so a failure repeats.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random state trees (no nulls, as in real state) and random changes to them.
enum RandomState {
    static let keys = ["lanes", "tasks", "state", "progress", "a", "b", "c", "config"]

    static func scalar(using random: inout SeededRandom) -> JSONValue {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: .integer(Int64.random(in: -5...5, using: &random))
        case 1: .string(keys.randomElement(using: &random)!)
        case 2: .bool(Bool.random(using: &random))
        default: .double(Double(Int.random(in: 0...100, using: &random)) / 100)
        }
    }

    static func value(depth: Int, using random: inout SeededRandom) -> JSONValue {
        guard depth < 3 else { return scalar(using: &random) }
        switch Int.random(in: 0..<3, using: &random) {
        case 0: return object(depth: depth + 1, using: &random)
        case 1:
            return .array(
                (0..<Int.random(in: 0...3, using: &random)).map { _ in value(depth: depth + 1, using: &random) }
            )
        default: return scalar(using: &random)
        }
    }

    static func object(depth: Int, using random: inout SeededRandom) -> JSONValue {
        var members: [String: JSONValue] = [:]
        for _ in 0..<Int.random(in: 0...4, using: &random) {
            members[keys.randomElement(using: &random)!] = value(depth: depth, using: &random)
        }
        return .object(members)
    }

    /// One random change somewhere in the tree: set, delete, append, truncate or retype.
    static func mutate(_ node: JSONValue, using random: inout SeededRandom, depth: Int = 0) -> JSONValue {
        switch node {
        case .object(var members):
            let key = keys.randomElement(using: &random)!
            if let child = members[key], Bool.random(using: &random) {
                members[key] = mutate(child, using: &random, depth: depth + 1)
            } else if Int.random(in: 0..<3, using: &random) == 0 {
                members.removeValue(forKey: key)
            } else {
                members[key] = value(depth: depth + 1, using: &random)
            }
            return .object(members)
        case .array(var elements):
            switch Int.random(in: 0..<4, using: &random) {
            case 0: elements.append(value(depth: depth + 1, using: &random))
            case 1: elements += [scalar(using: &random), scalar(using: &random)]
            case 2 where !elements.isEmpty: elements.removeLast()
            default:
                if !elements.isEmpty {
                    let index = Int.random(in: elements.indices, using: &random)
                    elements[index] = mutate(elements[index], using: &random, depth: depth + 1)
                }
            }
            return .array(elements)
        default:
            return depth == 0 ? node : value(depth: depth, using: &random)
        }
    }
}
