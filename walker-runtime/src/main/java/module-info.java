/**
 * The simulated Linux x86-64 mm that ptwalk's generated walkers run on.
 *
 * <p>Exports every API package; {@code dev.ptwalk.runtime.internal}, which the packages use to
 * reach each other's constructors and counters, is not exported. The runtime also works on the
 * class path, as the tests, the samples and most users' builds use it.
 */
module dev.ptwalk.runtime {
  exports dev.ptwalk.runtime;
  exports dev.ptwalk.runtime.check;
  exports dev.ptwalk.runtime.cpu;
  exports dev.ptwalk.runtime.debug;
  exports dev.ptwalk.runtime.mm;
  exports dev.ptwalk.runtime.notifier;
  exports dev.ptwalk.runtime.pgtable;
  exports dev.ptwalk.runtime.trace;
  exports dev.ptwalk.runtime.walk;
}
