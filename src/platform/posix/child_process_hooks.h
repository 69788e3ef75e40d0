#pragma once

// The few steps of starting a child that differ between Linux and macOS. Both run in the
// child between fork and exec, so they may only make async-signal-safe calls.

namespace opampsup::platform::posix {

// Ties the child's life to the parent's where the OS can (Linux: PR_SET_PDEATHSIG). Returns
// false when the parent is already gone, so the child exits instead of running orphaned.
bool tieToParent(int parentPid);

// Makes every descriptor from 3 up close on exec.
void closeDescriptorsOnExec();

}  // namespace opampsup::platform::posix
