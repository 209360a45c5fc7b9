package dev.ptwalk.cli.scenario;

import static dev.ptwalk.runtime.mm.VmFlags.VM_HUGETLB;
import static dev.ptwalk.runtime.mm.VmFlags.VM_IO;
import static dev.ptwalk.runtime.mm.VmFlags.VM_MAYWRITE;
import static dev.ptwalk.runtime.mm.VmFlags.VM_PFNMAP;
import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;

import dev.ptwalk.runtime.DirtyWindow;
import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.SignalException;
import dev.ptwalk.runtime.debug.VerifierViolation;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.trace.TraceEvent;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a scenario file against a fresh simulated machine and prints what happened, one JSON object
 * per line.
 *
 * <pre>
 * # '#' starts a comment; tokens are separated by spaces; numbers are decimal or 0x-hex
 * cpus N                                    # simulated CPUs, default 2; before any access
 * mapping NAME                              # an address_space
 * mm NAME                                   # an mm_struct (a process)
 * vma MM MAPPING start=ADDR pages=N pgoff=N flags=F[,F...]
 *                                           # F: read write shared maywrite io pfnmap hugetlb
 * write MM ADDR [cpu=N]                     # a store by CPU N (default 0)
 * read MM ADDR [cpu=N]                      # a load
 * walk CLASS#METHOD MAPPING first=N nr=N [bitmap_pgoff=N bits=N]
 * pte MM ADDR                               # print that PTE's state
 * </pre>
 *
 * <p>Faults use the default vm_ops of the runtime: a load of a page that is not present maps it
 * present, young and clean, writable only if the VMA is both {@code write} and {@code shared}; a
 * store maps it present, young, dirty and writable; a store to a present read-only PTE of a
 * writable VMA makes it writable, dirty and young again ({@code pfn_mkwrite} for {@code pfnmap},
 * {@code page_mkwrite} otherwise, copy-on-write for a private VMA); an access outside every VMA, or
 * a store to a VMA without {@code write}, is a segfault, printed, and the scenario goes on. The
 * runtime verifier is on: a walker that breaks a page-table rule stops the run.
 */
public final class Scenario {
  private final String file;
  private final ClassLoader walkers;
  private final PrintStream out;
  private int cpus = 2;
  private Machine machine;
  private final Map<String, MmStruct> mms = new LinkedHashMap<>();
  private final Map<String, AddressSpace> mappings = new LinkedHashMap<>();
  /** The mapping, mm and vma lines run so far, replayed if {@code cpus} rebuilds the machine. */
  private final List<Map.Entry<Integer, List<String>>> setup = new ArrayList<>();
  private boolean accessed;

  /**
   * A scenario named {@code file} (for messages) whose walkers are loaded from {@code walkers},
   * printing to {@code out}.
   */
  public Scenario(String file, ClassLoader walkers, PrintStream out) {
    this.file = file;
    this.walkers = walkers;
    this.out = out;
  }

  /**
   * Run every line of {@code in}.
   *
   * @throws ScenarioException for a malformed line, an unknown name or verb, an overlapping VMA,
   *     a walker that cannot be found or is called with bad arguments (nothing after that line
   *     runs)
   * @throws VerifierViolation when a walker breaks a page-table rule
   */
  public void run(Reader in) throws IOException {
    BufferedReader reader = new BufferedReader(in);
    String text;
    int line = 0;
    while ((text = reader.readLine()) != null) {
      line++;
      List<String> tokens = tokens(text);
      if (!tokens.isEmpty()) {
        execute(line, tokens);
      }
    }
  }

  /** Whitespace-separated tokens, up to a token that starts with '#'. */
  static List<String> tokens(String line) {
    List<String> out = new ArrayList<>();
    for (String t : line.trim().split("\\s+")) {
      if (t.startsWith("#")) {
        break;
      }
      if (!t.isEmpty()) {
        out.add(t);
      }
    }
    return out;
  }

  private void execute(int line, List<String> t) {
    String verb = t.get(0);
    switch (verb) {
      case "cpus":
        arity(line, t, 2, 2, "cpus N");
        if (accessed) {
          throw new ScenarioException(file, line,
              "cpus must come before the first write, read, walk or pte");
        }
        cpus = (int) number(line, t.get(1), "N", 1, 256);
        rebuild();
        break;
      case "mapping":
      case "mm":
      case "vma":
        setupCommand(line, t);
        setup.add(Map.entry(line, t));
        break;
      case "write":
      case "read":
        accessed = true;
        access(line, t, verb.equals("write"));
        break;
      case "walk":
        accessed = true;
        walk(line, t);
        break;
      case "pte":
        accessed = true;
        pte(line, t);
        break;
      default:
        throw new ScenarioException(file, line, "unknown verb '" + verb
            + "'; expected cpus, mapping, mm, vma, write, read, walk or pte");
    }
  }

  private void setupCommand(int line, List<String> t) {
    switch (t.get(0)) {
      case "mapping":
        arity(line, t, 2, 2, "mapping NAME");
        fresh(line, t.get(1), mappings, "mapping");
        mappings.put(t.get(1), machine().newAddressSpace(t.get(1)));
        break;
      case "mm":
        arity(line, t, 2, 2, "mm NAME");
        fresh(line, t.get(1), mms, "mm");
        mms.put(t.get(1), machine().newMm(t.get(1)));
        break;
      default:
        vma(line, t);
    }
  }

  /** A new machine with {@link #cpus} CPUs, with the setup so far replayed on it. */
  private void rebuild() {
    machine = null;
    mms.clear();
    mappings.clear();
    for (Map.Entry<Integer, List<String>> e : setup) {
      setupCommand(e.getKey(), e.getValue());
    }
  }

  private Machine machine() {
    if (machine == null) {
      machine = Machine.builder().cpus(cpus).verify(true).trace(true).build();
    }
    return machine;
  }

  private void vma(int line, List<String> t) {
    String usage = "vma MM MAPPING start=ADDR pages=N pgoff=N flags=F[,F...]";
    arity(line, t, 7, 7, usage);
    MmStruct mm = mm(line, t.get(1));
    AddressSpace mapping = mapping(line, t.get(2));
    Map<String, String> kv = keyValues(line, t.subList(3, 7), List.of("start", "pages", "pgoff",
        "flags"), usage);
    for (String key : List.of("start", "pages", "pgoff", "flags")) {
      if (!kv.containsKey(key)) {
        throw new ScenarioException(file, line, "missing " + key + "=...; usage: " + usage);
      }
    }
    long start = number(line, kv.get("start"), "start", 0, Long.MAX_VALUE);
    long pages = number(line, kv.get("pages"), "pages", 1, Long.MAX_VALUE);
    long pgoff = number(line, kv.get("pgoff"), "pgoff", 0, Long.MAX_VALUE);
    long flags = flags(line, kv.get("flags"));
    try {
      mm.mmap(mapping, start, pages, pgoff, flags);
    } catch (IllegalArgumentException e) {
      throw new ScenarioException(file, line, e.getMessage());
    }
  }

  private void access(int line, List<String> t, boolean write) {
    String usage = (write ? "write" : "read") + " MM ADDR [cpu=N]";
    arity(line, t, 3, 4, usage);
    MmStruct mm = mm(line, t.get(1));
    long addr = number(line, t.get(2), "ADDR", 0, Long.MAX_VALUE);
    if ((addr & 7) != 0) {
      throw new ScenarioException(file, line, "ADDR 0x" + Long.toHexString(addr)
          + " must be 8-byte aligned: accesses are 64-bit words");
    }
    int cpu = 0;
    if (t.size() == 4) {
      Map<String, String> kv = keyValues(line, t.subList(3, 4), List.of("cpu"), usage);
      cpu = (int) number(line, kv.get("cpu"), "cpu", 0, machine().cpus().size() - 1);
    }
    try {
      if (write) {
        machine().cpu(cpu).store(mm, addr, line);
      } else {
        machine().cpu(cpu).load(mm, addr);
      }
    } catch (SignalException e) {
      String key = e.signal() == SignalException.Signal.SIGSEGV ? "segfault" : "sigbus";
      out.println("{\"line\":" + line + ",\"" + key + "\":{\"mm\":" + Json.string(e.mm())
          + ",\"addr\":" + Json.hex(addr) + ",\"access\":\"" + (write ? "write" : "read")
          + "\"}}");
    }
  }

  private void pte(int line, List<String> t) {
    arity(line, t, 3, 3, "pte MM ADDR");
    MmStruct mm = mm(line, t.get(1));
    long addr = number(line, t.get(2), "ADDR", 0, Long.MAX_VALUE);
    long pte;
    try {
      pte = mm.followPte(addr);
    } catch (IllegalArgumentException e) {
      throw new ScenarioException(file, line, e.getMessage());
    }
    out.println("{\"line\":" + line + ",\"pte\":{\"mm\":" + Json.string(mm.name()) + ",\"addr\":"
        + Json.hex(addr) + ",\"present\":" + Pte.present(pte) + ",\"write\":" + Pte.write(pte)
        + ",\"dirty\":" + Pte.dirty(pte) + ",\"young\":" + Pte.young(pte) + "}}");
  }

  private void walk(int line, List<String> t) {
    String usage = "walk CLASS#METHOD MAPPING first=N nr=N [bitmap_pgoff=N bits=N]";
    arity(line, t, 5, 7, usage);
    String target = t.get(1);
    AddressSpace mapping = mapping(line, t.get(2));
    Map<String, String> kv = keyValues(line, t.subList(3, t.size()),
        List.of("first", "nr", "bitmap_pgoff", "bits"), usage);
    if (!kv.containsKey("first") || !kv.containsKey("nr")) {
      throw new ScenarioException(file, line, "walk needs first=N and nr=N; usage: " + usage);
    }
    long first = number(line, kv.get("first"), "first", 0, Long.MAX_VALUE);
    long nr = number(line, kv.get("nr"), "nr", 0, Long.MAX_VALUE);
    Method method = findWalker(line, target);
    boolean bitmap = method.getParameterCount() == 6;
    if (!bitmap && (kv.containsKey("bitmap_pgoff") || kv.containsKey("bits"))) {
      throw new ScenarioException(file, line, target
          + " takes no bitmap: bitmap_pgoff= and bits= are for bitmap walkers");
    }
    long bitmapPgoff = kv.containsKey("bitmap_pgoff")
        ? number(line, kv.get("bitmap_pgoff"), "bitmap_pgoff", 0, Long.MAX_VALUE) : first;
    long bits = kv.containsKey("bits")
        ? number(line, kv.get("bits"), "bits", 0, 1L << 30) : nr;
    if (bits > (1L << 30)) {
      throw new ScenarioException(file, line, "bits=" + bits + " is more than 2^30");
    }
    long[] map = new long[(int) ((bits + 63) / 64)];
    DirtyWindow window = new DirtyWindow();
    int mark = machine().trace().size();
    long warningsBefore = machine().counters().warnings();
    long total;
    try {
      Object r = bitmap ? method.invoke(null, mapping, first, nr, bitmapPgoff, map, window)
          : method.invoke(null, mapping, first, nr);
      total = (Long) r;
    } catch (IllegalAccessException e) {
      throw new ScenarioException(file, line, target + " cannot be called: " + e.getMessage());
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause();
      if (cause instanceof VerifierViolation) {
        throw (VerifierViolation) cause;
      }
      if (cause instanceof IllegalArgumentException || cause instanceof NullPointerException) {
        throw new ScenarioException(file, line, target + " rejected its arguments: "
            + cause.getMessage());
      }
      throw new ScenarioException(file, line, target + " threw " + cause);
    }
    StringBuilder sb = new StringBuilder("{\"line\":").append(line)
        .append(",\"walk\":").append(Json.string(target)).append(",\"total\":").append(total);
    if (bitmap) {
      sb.append(",\"bits\":[");
      String sep = "";
      for (int i = 0; i < map.length * 64L; i++) {
        if ((map[i >>> 6] & (1L << (i & 63))) != 0) {
          sb.append(sep).append(i);
          sep = ",";
        }
      }
      sb.append("],\"start\":").append(window.start).append(",\"end\":").append(window.end);
    }
    List<String> notifiers = new ArrayList<>();
    List<String> flushes = new ArrayList<>();
    for (TraceEvent e : machine().trace().eventsSince(mark)) {
      if (e instanceof TraceEvent.NotifierStart) {
        TraceEvent.NotifierStart n = (TraceEvent.NotifierStart) e;
        notifiers.add("{\"mm\":" + Json.string(n.mm()) + ",\"event\":" + Json.string(n.event())
            + ",\"start\":" + Json.hex(n.start()) + ",\"end\":" + Json.hex(n.end()) + "}");
      } else if (e instanceof TraceEvent.TlbFlush) {
        TraceEvent.TlbFlush f = (TraceEvent.TlbFlush) e;
        flushes.add("{\"mm\":" + Json.string(f.mm()) + ",\"start\":" + Json.hex(f.start())
            + ",\"end\":" + Json.hex(f.end()) + "}");
      }
    }
    sb.append(",\"notifiers\":[").append(String.join(",", notifiers)).append("]")
        .append(",\"flushes\":[").append(String.join(",", flushes)).append("]")
        .append(",\"warnings\":").append(machine().counters().warnings() - warningsBefore)
        .append("}");
    machine().trace().clear();
    out.println(sb);
  }

  /** The public static walker {@code CLASS#METHOD}, with either walker signature. */
  private Method findWalker(int line, String target) {
    int hash = target.indexOf('#');
    if (hash <= 0 || hash == target.length() - 1) {
      throw new ScenarioException(file, line, "'" + target
          + "' is not CLASS#METHOD (for example dev.ptwalk.samples.DirtyHelpersWalkers#applyAsClean)");
    }
    String className = target.substring(0, hash);
    String methodName = target.substring(hash + 1);
    Class<?> c;
    try {
      c = Class.forName(className, true, walkers);
    } catch (ClassNotFoundException | LinkageError e) {
      throw new ScenarioException(file, line, "walker class " + className
          + " is not on the class path; add its directory or jar with --classpath");
    }
    for (Method m : c.getMethods()) {
      if (m.getName().equals(methodName) && Modifier.isStatic(m.getModifiers())
          && m.getReturnType() == long.class && (isPlainWalker(m) || isBitmapWalker(m))) {
        return m;
      }
    }
    throw new ScenarioException(file, line, className + " has no public static walker "
        + methodName + "(AddressSpace, long, long) or " + methodName
        + "(AddressSpace, long, long, long, long[], DirtyWindow) returning long");
  }

  private static boolean isPlainWalker(Method m) {
    Class<?>[] p = m.getParameterTypes();
    return p.length == 3 && p[0] == AddressSpace.class && p[1] == long.class && p[2] == long.class;
  }

  private static boolean isBitmapWalker(Method m) {
    Class<?>[] p = m.getParameterTypes();
    return p.length == 6 && p[0] == AddressSpace.class && p[1] == long.class
        && p[2] == long.class && p[3] == long.class && p[4] == long[].class
        && p[5] == DirtyWindow.class;
  }

  // ---- parsing helpers ----

  private void arity(int line, List<String> t, int min, int max, String usage) {
    if (t.size() < min || t.size() > max) {
      throw new ScenarioException(file, line, t.get(0) + " takes " + (min == max ? min - 1
          : (min - 1) + " to " + (max - 1)) + " argument(s), got " + (t.size() - 1)
          + "; usage: " + usage);
    }
  }

  private <T> void fresh(int line, String name, Map<String, T> names, String what) {
    if (names.containsKey(name)) {
      throw new ScenarioException(file, line, what + " '" + name + "' is already defined");
    }
  }

  private MmStruct mm(int line, String name) {
    MmStruct mm = mms.get(name);
    if (mm == null) {
      throw new ScenarioException(file, line, "unknown mm '" + name + "'; define it first with:"
          + " mm " + name);
    }
    return mm;
  }

  private AddressSpace mapping(int line, String name) {
    AddressSpace m = mappings.get(name);
    if (m == null) {
      throw new ScenarioException(file, line, "unknown mapping '" + name
          + "'; define it first with: mapping " + name);
    }
    return m;
  }

  private Map<String, String> keyValues(int line, List<String> tokens, List<String> allowed,
      String usage) {
    Map<String, String> kv = new LinkedHashMap<>();
    for (String tok : tokens) {
      int eq = tok.indexOf('=');
      if (eq <= 0) {
        throw new ScenarioException(file, line, "'" + tok + "' is not key=value; usage: " + usage);
      }
      String key = tok.substring(0, eq);
      if (!allowed.contains(key)) {
        throw new ScenarioException(file, line, "unknown key '" + key + "'; expected "
            + String.join(", ", allowed));
      }
      if (kv.put(key, tok.substring(eq + 1)) != null) {
        throw new ScenarioException(file, line, key + "= is given twice");
      }
    }
    return kv;
  }

  private long number(int line, String text, String what, long min, long max) {
    long v;
    try {
      v = text.startsWith("0x") || text.startsWith("0X")
          ? Long.parseUnsignedLong(text.substring(2), 16) : Long.parseLong(text);
    } catch (NumberFormatException e) {
      throw new ScenarioException(file, line, what + " '" + text
          + "' is not a number (decimal, or hex with 0x)");
    }
    if (v < min || v > max) {
      throw new ScenarioException(file, line, what + " " + text + " is out of range ["
          + min + ", " + max + "]");
    }
    return v;
  }

  private long flags(int line, String text) {
    long flags = 0;
    for (String f : text.split(",", -1)) {
      switch (f) {
        case "read":
          flags |= VM_READ;
          break;
        case "write":
          flags |= VM_WRITE;
          break;
        case "shared":
          flags |= VM_SHARED;
          break;
        case "maywrite":
          flags |= VM_MAYWRITE;
          break;
        case "io":
          flags |= VM_IO;
          break;
        case "pfnmap":
          flags |= VM_PFNMAP;
          break;
        case "hugetlb":
          flags |= VM_HUGETLB;
          break;
        default:
          throw new ScenarioException(file, line, "unknown flag '" + f
              + "'; flags are read, write, shared, maywrite, io, pfnmap, hugetlb");
      }
    }
    return flags;
  }
}
