"""The bundled demo: a sample history of B2B accounts that `tipoff demo` replays through
the real ingest API (see `tipoff.demo.sample_history`), and the sample database `tipoff
quality-demo` writes from it to try the quality loop on (`tipoff.demo.quality_sample`)."""
