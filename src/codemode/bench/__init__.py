"""Benchmark runners behind `codemode bench` (results and charts live in benchmarks/)."""
