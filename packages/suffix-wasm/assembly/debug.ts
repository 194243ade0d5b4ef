// Switch for the precondition checks of the debug build.
//
// The debug target (asconfig.json) keeps assert()s; the release target sets
// noAssert. noAssert alone drops only the check: `assert(x)` still evaluates
// x, so its loads would stay on the hot path. Writing each check as
// `if (DEBUG) assert(...)` lets the release build compile the whole statement
// out, because DEBUG is a compile-time constant.
export const DEBUG: bool = !ASC_NO_ASSERT;
