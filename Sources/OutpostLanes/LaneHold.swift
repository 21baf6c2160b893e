/// What a coordinator withholds from the lanes: the whole node when it disabled the node, or single lanes it
/// disabled. Separate from the lanes' own modes, which the node's admin sets: lifting a hold never overrides a pause
/// the admin chose.
public struct LaneHold: Sendable, Equatable {
    public var nodeDisabled: Bool
    public var disabledLanes: Set<Int>
    /// Pause running tasks of held lanes (else they finish, and no new one starts).
    public var pauseRunning: Bool

    public init(nodeDisabled: Bool = false, disabledLanes: Set<Int> = [], pauseRunning: Bool = false) {
        self.nodeDisabled = nodeDisabled
        self.disabledLanes = disabledLanes
        self.pauseRunning = pauseRunning
    }

    public func holds(_ lane: Int) -> Bool { nodeDisabled || disabledLanes.contains(lane) }

    public func pausesRunning(_ lane: Int) -> Bool { pauseRunning && holds(lane) }
}
