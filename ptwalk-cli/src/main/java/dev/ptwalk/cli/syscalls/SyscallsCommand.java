package dev.ptwalk.cli.syscalls;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code ptwalk syscalls FILE}: a trace of one process's memory operations, run on the simulated
 * kernel, printed as the real kernel of this project's machines prints it.
 */
public final class SyscallsCommand {
  /** Exit status for a trace that cannot run: bad line, unknown verb or region, unreadable file. */
  public static final int BAD_TRACE = 2;
  /** Exit status for a page-table rule broken inside the simulated kernel (a bug in ptwalk). */
  public static final int RULE_BROKEN = 1;

  private SyscallsCommand() {}

  /** The trace format, as {@code ptwalk syscalls --help} lists it. */
  public static List<String> help() {
    return List.of(
        "Trace lines ('#' starts a comment; tokens are separated by blanks; numbers are decimal"
            + " or 0x hex; L below is the 1-based line):",
        "  uffd features=F[,F...]      F: async unpopulated shmem none (default the first three);"
            + " before the first region",
        "  region NAME pages=N kind=K [at=P] [uffd=wp|none]",
        "                              K: anon shmem tmpfs sharedanon privfile extfile; region k"
            + " starts at 0x7f0000000000 + k*0x400000 + P*0x1000; at most 8",
        "  write NAME PAGE | read NAME PAGE",
        "  wp|unwp|dontneed|free|pageout NAME [first=P] [nr=N]",
        "  clear_refs V | fork | cpu N",
        "  scan NAME [first=P] [nr=N] [wp] [wponly] [check] [flags=N] [required=C] [anyof=C]"
            + " [excluded=C] [inverted=C] [return=C] [vec=N] [max=N]",
        "                              C: WPALLOWED WRITTEN FILE PRESENT SWAPPED PFNZERO HUGE"
            + " SOFT_DIRTY GUARD, ALL, NONE or numbers, comma-separated",
        "  pagemap NAME [first=P] [nr=N]",
        "",
        "Output, one JSON object per line, only for commands that report something:",
        "  {\"line\":L,\"scan\":NAME,\"ret\":R,\"walk_end\":W,\"ranges\":[{\"start\":S,\"end\":E,"
            + "\"cats\":[...]},...]}",
        "  {\"line\":L,\"scan\":NAME,\"error\":E,\"walk_end\":W|null}",
        "  {\"line\":L,\"pagemap\":NAME,\"first\":P,\"pages\":[\"PSFWDZG letters\",...]}",
        "  {\"line\":L,\"segfault\":{\"region\":NAME,\"page\":P,\"access\":\"write\"|\"read\","
            + "\"signal\":\"SIGSEGV\"|\"SIGBUS\"}}",
        "  {\"line\":L,\"region\":NAME,\"error\":E,\"op\":\"UFFDIO_REGISTER\"}, {\"line\":L,"
            + "\"VERB\":NAME,\"error\":E}, {\"line\":L,\"clear_refs\":\"V\",\"error\":E},"
            + " {\"line\":L,\"cpu\":N,\"error\":E}",
        "Pages and walk_end are relative to the region's first page; E is an errno name.",
        "",
        "The simulated machine is this project's Linux 6.18 machine: 2 CPUs, soft-dirty compiled"
            + " out, no swap, no THP, the zero page on, per-CPU LRU batches; the runtime's"
            + " verifier is on.",
        "",
        "A malformed line, an unknown verb or an unknown region stops the run before anything"
            + " runs, with FILE:L: and what is wrong on stderr, exit status 2; a page-table rule"
            + " broken inside the simulated kernel stops it with exit status 1.");
  }

  /**
   * Run the trace in {@code file}, printing its lines to {@code out} and problems to {@code err}.
   *
   * @return the exit status: 0, {@link #BAD_TRACE} or {@link #RULE_BROKEN}
   */
  public static int run(Path file, PrintStream out, PrintStream err) {
    String name = file.toString();
    byte[] bytes;
    try {
      if (Files.isDirectory(file)) {
        err.println(name + ":0: read error: Is a directory");
        return BAD_TRACE;
      }
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      err.println(name + ":0: cannot open: No such file or directory");
      return BAD_TRACE;
    } catch (AccessDeniedException e) {
      err.println(name + ":0: cannot open: Permission denied");
      return BAD_TRACE;
    } catch (IOException e) {
      err.println(name + ":0: cannot open: " + e.getMessage());
      return BAD_TRACE;
    }
    Trace trace;
    try {
      trace = TraceParser.parse(name, bytes);
    } catch (TraceException e) {
      err.println(e.getMessage());
      return BAD_TRACE;
    }
    try {
      new TraceRunner(name, out, err).run(trace);
    } catch (TraceRunner.RuleBroken e) {
      out.flush();
      err.println(e.getMessage());
      return RULE_BROKEN;
    }
    out.flush();
    return 0;
  }
}
