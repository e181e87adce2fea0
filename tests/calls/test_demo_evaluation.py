from manifattura.calls import demo_evaluation, evaluation
from manifattura.calls.enums_evaluation import AppealStatus, AwardStatus, CallStage
from manifattura.calls.models import Appeal, Award, Concession


def test_the_concluded_demo_call_has_every_step_and_verifies(db, milan_zones):
    call = demo_evaluation.load()
    call.refresh_from_db()
    assert call.stage == CallStage.CONCLUDED
    assert call.commission.count() == 4
    assert call.rankings.count() == 2
    assert Appeal.objects.get(application__call=call).status == AppealStatus.ACCEPTED
    assert Award.objects.filter(call=call, by_advance=True).exists()
    assert Award.objects.filter(call=call, status=AwardStatus.RENOUNCED).count() == 1
    assert Concession.objects.filter(award__call=call).count() == 3
    assert evaluation.verify_ranking(call) == []
    assert demo_evaluation.load().pk == call.pk  # idempotent
