package dev.ptwalk.tests.syscalls;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Something that runs a trace in the format of {@code bin/ptwalk syscalls} and answers with the
 * lines the format defines. {@link KernelTraceRunner} runs traces on the real kernel of this
 * machine; the simulator's executor (running {@code bin/ptwalk syscalls}, or its runtime code in
 * process) is the second implementation, to be registered in
 * {@code META-INF/services/dev.ptwalk.tests.syscalls.TraceExecutor} of the test resources:
 * {@link KernelAgreementTest} then diffs it line by line against the kernel and against the
 * recorded outputs, with no other change.
 */
public interface TraceExecutor {
  /** A short name for test reports, such as {@code kernel} or {@code simulator}. */
  String name();

  /**
   * Runs {@code trace} and returns what it printed on standard output.
   *
   * @throws IOException if the trace could not be run to its end (a rejected trace, a crash, a
   *     timeout); the message says why, with the executor's own diagnostics
   */
  String run(Path trace) throws IOException;
}
