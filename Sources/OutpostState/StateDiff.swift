import OutpostRPC

/// The updates that turn one state tree into another: what the state stream sends after each change, so that a
/// subscriber applying them in order to its snapshot always holds what a fresh snapshot would show.
///
/// Objects are compared key by key (a removed key is a `null` update). An array that only grew at its end gets one
/// `-2` concatenation (or a `-1` append for a single element); an array of the same length is compared element by
/// element; any other array change replaces the array, which is always correct and rare in practice (lanes and tasks
/// are objects keyed by id).
public enum StateDiff {
    public static func updates(from old: JSONValue, to new: JSONValue) -> [StateUpdate] {
        var updates: [StateUpdate] = []
        var path: [StateUpdate.PathElement] = []
        compare(old, new, path: &path, into: &updates)
        return updates
    }

    private static func compare(
        _ old: JSONValue,
        _ new: JSONValue,
        path: inout [StateUpdate.PathElement],
        into updates: inout [StateUpdate]
    ) {
        if old == new { return }
        switch (old, new) {
        case (.object(let before), .object(let after)):
            for key in before.keys.sorted() where after[key] == nil {
                updates.append(StateUpdate(path + [.key(key)], .null))
            }
            for key in after.keys.sorted() {
                path.append(.key(key))
                if let previous = before[key] {
                    compare(previous, after[key]!, path: &path, into: &updates)
                } else {
                    updates.append(StateUpdate(path, after[key]!))
                }
                path.removeLast()
            }
        case (.array(let before), .array(let after))
        where after.count > before.count && after.starts(with: before) && !path.isEmpty:
            let added = Array(after[before.count...])
            updates.append(
                added.count == 1
                    ? StateUpdate(path + [.append], added[0])
                    : StateUpdate(path + [.concatenate], .array(added))
            )
        case (.array(let before), .array(let after)) where after.count == before.count && !path.isEmpty:
            for index in after.indices {
                path.append(.index(index))
                compare(before[index], after[index], path: &path, into: &updates)
                path.removeLast()
            }
        default:
            // Scalars that changed, a change of type, or an array that shrank or changed in the middle. The root is
            // always an object, so `path` is never empty here.
            updates.append(StateUpdate(path, new))
        }
    }
}
