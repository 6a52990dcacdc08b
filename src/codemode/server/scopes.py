"""The caller's Klaviyo scopes in the policy: known for OAuth, learned from 403s for private keys.

An OAuth caller's scopes come with its access token (:func:`.credentials.known_scopes`); a
private key's are unknown until Klaviyo refuses a call with 403. :class:`ScopeLearningBridge`
notes each such refusal in the server's :class:`~codemode.policy.LearnedScopes`, so the next
search, signature and run for that principal say the scope is missing (and refuse before
calling Klaviyo), until the entry expires.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from codemode.policy import LearnedScopes
from codemode.sandbox import SdkBridge
from codemode.sandbox.bridge import BridgeReply

__all__ = ["ScopeLearningBridge"]


class ScopeLearningBridge(SdkBridge):
    """An :class:`SdkBridge` that remembers the scopes Klaviyo answered 403 for.

    Only Klaviyo's own answers count (a refusal the policy wrote carries its ``rule`` and is
    not learned again, so an entry expires on time and the key is tried against Klaviyo anew).
    """

    def __init__(self, *, learned: LearnedScopes, principal: str, **kwargs: Any) -> None:
        """``kwargs`` as :class:`SdkBridge`; 403s are recorded for ``principal`` in ``learned``."""
        super().__init__(principal=principal, **kwargs)
        self._learned = learned
        self._learner = principal

    async def call(self, op_id: str, args: Sequence[Any], params: Mapping[str, Any]) -> BridgeReply:
        """Serve the call as :class:`SdkBridge` does; note a 403 from Klaviyo."""
        reply = await super().call(op_id, args, params)
        error = reply.error or {}
        if reply.status == 403 and "rule" not in error:
            action = self.catalog.get(op_id)
            if action is not None:
                detail = error.get("detail")
                self._learned.learn(
                    self._learner, action, detail if isinstance(detail, str) else None
                )
        return reply
