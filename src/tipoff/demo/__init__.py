"""The bundled demo: a sample history of B2B accounts that `tipoff demo` replays through
the real ingest API (see `tipoff.demo.history`)."""
