from manifattura.calls import domain
from manifattura.calls.enums import ApplicationStatus
from tests.calls.factories import build_call, ready_application


def test_a_complete_application_gets_protocol_1_and_a_digest(db):
    call = build_call(with_file=True)
    application, user = ready_application(call)
    result = domain.application_submit(application=application, by=user)
    assert result.created
    assert result.submission.protocol == 1
    assert len(result.submission.digest) == 64
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
