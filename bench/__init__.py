"""The benchmark behind `make bench`: a Django app that only ``bench.settings`` installs."""
