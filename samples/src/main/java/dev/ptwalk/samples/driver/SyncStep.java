package dev.ptwalk.samples.driver;

/**
 * One walker call of a {@link DirtyTrackingDriver.SyncMode}'s sync, named for whoever shows the
 * sync step by step (the demo's page shows which walker opened which bracket).
 *
 * @param walker the walker's name, for example {@code DirtyHelpersWalkers.applyAsWrprotect}
 * @param call the call, with the sync's bitmap; returns the PTEs it changed
 */
public record SyncStep(String walker, SyncStrategy call) {}
