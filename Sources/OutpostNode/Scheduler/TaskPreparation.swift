import OutpostLanes
import OutpostScheduler

/// Turns a held BOINC job into a lane task, as the BOINC client lays out a slot (`client/app_start.cpp`): the main
/// program runs from the project directory with the slot as its working directory, every other app file and every
/// input is placed under its open name, and the task must leave `boinc_finish_called` and its outputs behind (the
/// lanes fail a task that exits 0 without them, which is how BOINC tells success from a premature exit).
enum TaskPreparation {
    static let finishFile = "boinc_finish_called"

    static func specification(for job: HeldJob, projectDirectory: String, hostFlops: Double) -> TaskSpecification {
        let main = job.appVersion.files.first(where: \.mainProgram)!
        var inputs: [TaskSpecification.InputFile] = []
        for reference in job.appVersion.files where !reference.mainProgram {
            inputs.append(.init(source: "\(projectDirectory)/\(reference.fileName)", name: reference.slotName))
        }
        for reference in job.workunit.files {
            inputs.append(.init(source: "\(projectDirectory)/\(reference.fileName)", name: reference.slotName))
        }
        let commandLine = [job.appVersion.commandLine, job.workunit.commandLine].compactMap { $0 }.joined(
            separator: " "
        )
        let flops = job.appVersion.flops ?? hostFlops
        // BOINC's bound: rsc_fpops_bound / flops, with a floor so that a badly estimated short job is not killed early.
        let maxRuntime = Int64(max(job.workunit.rscFpopsBound / max(flops, 1), 300).rounded(.up))
        return TaskSpecification(
            executable: "\(projectDirectory)/\(main.fileName)",
            arguments: commandLine.split(separator: " ").map(String.init),
            inputFiles: inputs,
            outputFiles: job.result.files.map(\.slotName) + [finishFile],
            limits: TaskLimits(
                maxRuntimeSeconds: maxRuntime,
                memoryLimitBytes: job.workunit.rscMemoryBound > 0 ? Int64(job.workunit.rscMemoryBound) : nil
            ),
            name: job.result.name
        )
    }
}
