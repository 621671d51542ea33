"""Shapes of the escalation API: input parsing and output only."""

from escalation.serializers.policies import (
    EscalationActionSerializer,
    EscalationPageInputSerializer,
    EscalationPolicyInputSerializer,
    EscalationPolicySerializer,
    EscalationSerializer,
    EscalationStateSerializer,
    EscalationStepSerializer,
    PreviewQuerySerializer,
    PreviewSerializer,
    ServicePolicyInputSerializer,
    ServicePolicySerializer,
)

__all__ = [
    "EscalationActionSerializer",
    "EscalationPageInputSerializer",
    "EscalationPolicyInputSerializer",
    "EscalationPolicySerializer",
    "EscalationSerializer",
    "EscalationStateSerializer",
    "EscalationStepSerializer",
    "PreviewQuerySerializer",
    "PreviewSerializer",
    "ServicePolicyInputSerializer",
    "ServicePolicySerializer",
]
