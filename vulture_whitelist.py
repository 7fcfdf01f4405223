"""Names vulture cannot see used (``make lint`` runs it over src, tests and benchmarks).

Each group says why; a name that is dead goes from the code, never into this file.
"""

from vulture.whitelist_utils import Whitelist

_ = Whitelist()

# Named by string in the backend table (deploy/backends.py's ``lazy``), imported when first used.
_.compiled, _.graph_runner, _.pixel_runner, _.with_pixel_input, _.fp32_graph, _.int8_graph, _.graph_metadata
_.build, _.build_int8, _.default_runner, _.save_ir, _.read_ir, _.litert_runner, _.read_metadata
_.micro_runner, _.write_micro, _.read_micro, _.describe, _.pte_runner, _.hls_runner, _.write_project
_.read_project
# Called by Python, a library or pytest: module __getattr__/__dir__ (lazy API), ImageFolder's and
# ONNX Runtime's calibration reader's hooks, python-tuf's fetcher, http.server's logger, pytest's hooks,
# autouse fixtures and markers; a signal handler's signature.
_.__getattr__, _.__dir__, _.make_dataset, _.kwargs, _.get_next, _._fetch, _.log_message
_.pytest_configure, _.pytestmark, _._seed, _._no_python_sigchld_handler, _._isolated_cache, _.real_fmnist
_.signum, _.frame
# Options set on library objects (argparse, ONNX Runtime sessions, litert-torch).
_.formatter_class, _.graph_optimization_level, _.intra_op_num_threads, _.log_severity_level, _.show_progress
_.__qualname__
# Fields of records written out whole (--json, run.json, the TFLite Micro report), read by users.
_.retrain_steps, _.size_budget_attempts, _.activation_bytes, _.persistent_bytes, _.metadata_versions
_.wall_seconds, _.size_bytes_fp32, _.gradient_bytes_per_step, _.allreduce_bytes_per_step
_.allreduce_seconds_per_step, _.allreduce_calls_per_step
# The torch-free reader's header parse, run by tests/formats/test_torch_free.py in a subprocess.
_.read_header
