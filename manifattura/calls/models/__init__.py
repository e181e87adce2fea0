"""Calls' models, split by concept: the call and applications; evaluation, ranking and allocation."""

from manifattura.calls.models.submissions import (  # noqa: F401
    Application,
    ApplicationFile,
    Call,
    CallDocument,
    Criterion,
    DeadlineExtension,
    Declaration,
    FormSection,
    PrivateStorage,
    ProtocolCounter,
    Question,
    Submission,
    private_storage,
    private_upload_path,
)
from manifattura.calls.models.evaluation import *  # noqa: F401,F403
