// The source of regfs_test_pch (tests/CMakeLists.txt): the target exists
// to build the precompiled header that every test target reuses; it needs
// one source file to be a target at all.
