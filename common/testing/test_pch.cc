// The translation unit that builds the tests' shared precompiled header (sales_test_pch in
// cmake/Sales.cmake); it has no code of its own.
