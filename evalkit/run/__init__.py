"""Everything that runs an evaluation, in one place: the run's configuration (`config.py`) and each
task's settings in it (`task_settings.py`), the runner (`runner.py`), batched inference
(`batching.py`), data-parallel processes (`distributed.py`), the output folder's lock (`lock.py`),
the resume journal (`journal.py`) and what the run writes (`writer.py`). `evalkit.report` only reads
what a run stored."""
