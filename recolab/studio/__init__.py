"""Plain functions behind the dashboard (no streamlit here).

The pages of the app stay thin: they read widget state, call one of these functions and draw
the result. Everything that touches the disk, the job store, a model or a metric lives here,
so it can be unit-tested without a browser. Pages use ``from recolab import studio`` and
``studio.<name>``; every public name below is re-exported here. Where a change goes:

- :mod:`~recolab.studio.datasets`: the workspace and its datasets: samples, uploads (staged,
  checked, saved), column mappings, loading a dataset, its summary numbers.
- :mod:`~recolab.studio.jobs`: training jobs over :mod:`recolab.jobs`: job spec, submit, poll,
  cancel, stages, wall time, job labels for pickers, the jobs table, bundle/result/spec paths.
- :mod:`~recolab.studio.manage`: renaming and deleting datasets and jobs (atomic on disk; a
  running job or a dataset jobs use is refused with what to do first).
- :mod:`~recolab.studio.context`: a model at a new λ (Trade-offs): evaluation context, metrics
  at λ, fronts and curves of a bundle, α's list length k*, the constraint picker, mechanism and
  sparsity tables, objective sliders.
- :mod:`~recolab.studio.formatting`: how values read: metric cards, card values, byte sizes,
  seconds, the Train page's model names, the example list as an HTML table.
- :mod:`~recolab.studio.history`: users and histories: user ids, a user's history, item labels,
  typed-history matching.
- :mod:`~recolab.studio.recommend`: top-k lists with their "because" column.
- :mod:`~recolab.studio.export`: Pareto position, model card, export at the chosen λ and k,
  download bytes.
"""

from recolab.bundle.card import front_frames  # the Trade-offs and Export pages'
from recolab.data.io import detect_user_id_column  # the Data page's
from recolab.features.users import user_attribute_summary  # the Data page's
from recolab.studio.context import (
    CONSTRAINT_OBJECTIVES,
    CutoffChoice,
    EvalContext,
    alpha_cutoff,
    constrained_lambda,
    constraint_objectives,
    cutoff_curves,
    eval_context,
    mechanism_table,
    metrics_at,
    objective_lambdas,
    objective_sliders,
    sparsity_table,
    validation_front,
)
from recolab.studio.datasets import (
    MAPPING_ROLES,
    DatasetInfo,
    dataset_stats,
    detect_mapping,
    get_dataset,
    list_datasets,
    load_dataset,
    preview,
    save_upload,
    set_mapping,
    set_users_mapping,
    upload_columns,
    workspace,
)
from recolab.studio.export import export_at, model_card, pareto_position, read_bytes, zip_members
from recolab.studio.formatting import (
    CARD_METRICS,
    MODEL_LABELS,
    card_value,
    format_bytes,
    list_html,
    metric_cards,
)
from recolab.studio.history import (
    HistoryMatch,
    item_label,
    match_history,
    parse_history,
    user_history,
    user_ids,
)
from recolab.studio.jobs import (
    KEY_METRIC,
    SPLIT_HELP,
    TRAINING_TASK,
    JobStatus,
    bundle_path,
    cancel_job,
    finished_jobs,
    job_dataset,
    job_label,
    job_labels,
    job_result,
    job_spec,
    job_split,
    job_wall_seconds,
    jobs_table,
    poll_job,
    split_choices,
    stage_lines,
    submit_training,
    training_spec,
)
from recolab.studio.manage import (
    InUseError,
    dataset_in_use,
    delete_dataset,
    delete_job,
    jobs_using_dataset,
    rename_dataset,
    rename_job,
)
from recolab.studio.recommend import because_caption, explain, recommendations

__all__ = [
    "CARD_METRICS",
    "CONSTRAINT_OBJECTIVES",
    "KEY_METRIC",
    "MAPPING_ROLES",
    "MODEL_LABELS",
    "SPLIT_HELP",
    "TRAINING_TASK",
    "CutoffChoice",
    "DatasetInfo",
    "EvalContext",
    "HistoryMatch",
    "InUseError",
    "JobStatus",
    "alpha_cutoff",
    "because_caption",
    "bundle_path",
    "cancel_job",
    "card_value",
    "constrained_lambda",
    "constraint_objectives",
    "cutoff_curves",
    "dataset_in_use",
    "dataset_stats",
    "delete_dataset",
    "delete_job",
    "detect_mapping",
    "detect_user_id_column",
    "eval_context",
    "explain",
    "export_at",
    "finished_jobs",
    "format_bytes",
    "front_frames",
    "get_dataset",
    "item_label",
    "job_dataset",
    "job_label",
    "job_labels",
    "job_result",
    "job_spec",
    "job_split",
    "job_wall_seconds",
    "jobs_table",
    "jobs_using_dataset",
    "list_datasets",
    "list_html",
    "load_dataset",
    "match_history",
    "mechanism_table",
    "metric_cards",
    "metrics_at",
    "model_card",
    "objective_lambdas",
    "objective_sliders",
    "pareto_position",
    "parse_history",
    "poll_job",
    "preview",
    "read_bytes",
    "recommendations",
    "rename_dataset",
    "rename_job",
    "save_upload",
    "set_mapping",
    "set_users_mapping",
    "sparsity_table",
    "split_choices",
    "stage_lines",
    "submit_training",
    "training_spec",
    "upload_columns",
    "user_attribute_summary",
    "user_history",
    "user_ids",
    "validation_front",
    "workspace",
    "zip_members",
]
