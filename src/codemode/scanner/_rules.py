"""The tier-1 rule table: every pattern with its id, weight, reason and anchors.

Deny by default, a reason per entry: each rule describes an instruction aimed at the model that
reads the text, never a topic. ``patterns.py`` runs them; this module only defines them.
"""
# ruff: noqa: RUF001  (multilingual text and look-alike characters are the point)

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["RULES", "Rule"]


@dataclass(frozen=True, slots=True)
class Rule:
    """A tier-1 pattern: ``id``, ``weight`` (0..1), ``reason``, the ``regex`` and its ``anchors``.

    The regex runs on lower-cased text only when one of the literal ``anchors`` occurs in it: a
    substring test is a hundred times cheaper than a regex pass over a 12k-character response.
    ``needs``, when given, are literals of which every string the regex matches holds one
    (``tests/scanner/test_rule_needs.py`` checks it): a text with none of them cannot match, so
    the regex is not run. Unlike the anchors they place no search window on a long text.
    """

    id: str
    weight: float
    reason: str
    regex: re.Pattern[str]
    anchors: tuple[str, ...]
    markup: bool = False
    needs: tuple[str, ...] = ()


# Rules about tags and markup also read the text before HTML is flattened (the "markup" view).
_MARKUP_RULES = frozenset(
    {
        "role.chat_token",
        "role.system_marker",
        "tool.forged_call",
        "exfil.markdown_image",
    }
)


def _r(
    id_: str, weight: float, reason: str, anchors: str, pattern: str, needs: tuple[str, ...] = ()
) -> Rule:
    # Patterns are written in lower case and run on lower-cased text: IGNORECASE on Unicode
    # patterns is several times slower in CPython's re.
    return Rule(
        id_,
        weight,
        reason,
        re.compile(pattern.lower(), re.MULTILINE),
        tuple(anchors.split("|")),
        id_ in _MARKUP_RULES,
        needs,
    )


# Shared vocabulary, kept small and bounded so the rules stay fast on 12k-character texts.
_AI = (
    r"(?:ai|a\.i\.|artificial intelligence|llm|large language model|language model|assistant|"
    r"ai agent|agent|chat ?bot|bot|model|copilot|chatgpt|gpt-?\d[\w.]*|gpt|claude|gemini|llama|"
    r"mistral|bard|openai)"
)
_PRIOR = (
    r"(?:previous|prior|preceding|above|earlier|foregoing|former|original|initial|old|existing|"
    r"current|system|developer|all|any|other|the|your|my|these|those)"
)
_INSTR = (
    r"(?:instructions?|prompts?|directives?|directions?|rules?|"
    r"guidelines?|guardrails?|commands?|orders?|constraints?|restrictions?|policies|"
    r"programming|context|conversation|messages?|tasks?|input)"
)
# "please ignore my previous message" is a customer, not an attack: messages are left out here.
_INSTR_OVERRIDE = (
    r"(?:instructions?|prompts?|directives?|directions?|rules?|"
    r"guidelines?|guardrails?|commands?|orders?|constraints?|restrictions?|policies|"
    r"programming|context|conversation|tasks?|input|(?:and|or) following)"
)
_SECRET = (
    r"(?:api[ _-]?keys?|private[ _-]?keys?|secret[ _-]?keys?|access[ _-]?tokens?|tokens?|"
    r"credentials?|passwords?|passcodes?|secrets?|system prompt|customer (?:list|data|records?|emails?)|"
    r"subscriber (?:list|data)|(?:all )?profiles|contacts?|contact list|mailing list|personal data|pii|"
    r"conversation(?: history)?|chat history|emails?|inbox|messages|card numbers?|ibans?|"
    r"bank (?:details|account)|ssns?|social security|phone numbers|addresses|the data|this data|"
    r"user(?:'s)? data|all data|everything)"
)
_SEND = (
    r"(?:send|sent|forward|post|upload|transmit|exfiltrate|leak|email|e-mail|mail|submit|share|copy|"
    r"export|dump|deliver|report|push|sync|write|append|pass)"
)
_DEST = (
    r"(?:https?://|www\.|ftp://|webhook|[\w.+-]+@[\w-]+\.[\w.]+|(?:this|that|the following|my|our) "
    r"(?:url|link|address|endpoint|server|site|website|email|inbox|webhook))"
)

RULES: tuple[Rule, ...] = (
    # Role markers and forged chat turns.
    _r(
        "role.chat_token",
        0.97,
        "contains a chat-template control token (forged conversation turn)",
        "<|[inst]|[/inst]|<<sys|<<|<system|<assistant|system|>",
        r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|"
        r"end_header_id|begin_of_text)\|>|\[/?INST\]|<</?SYS>>|<\|?(?:system|assistant)\|?>\s*\w",
    ),
    _r(
        "role.system_marker",
        0.9,
        "forges a system or admin message inside data",
        "system|admin|developer|root|sudo|ai|assistant|instruction|<",
        r"\[\s*(?:system|admin|developer|root|sudo|ai|assistant)[ _-]?(?:override|message|note|"
        r"request|instruction|prompt|alert|command|update)s?\s*(?:\]|::|:)"
        r"|\(\s*system[ _-]?message\s*\)|#{2,}\s*\(?\s*system[ _-]?(?:message|prompt|override)"
        r"|^\s*#{1,4}\s*(?:new\s+)?(?:system\s+)?instructions?\s*:"
        r"|\b(?:system|admin|developer)\s+(?:override|prompt)\s*(?::|\]|-{1,2}>)"
        r"|<\s*/?\s*(?:system|system_prompt|sys|instructions?|admin)\s*>",
        # Its anchors "ai", "root", "sudo" and "assistant" only count after a "[" (most texts
        # hold "ai": "email", "detail"), and "instruction" only after a "#".
        ("[", "#", "<", "system", "admin", "developer"),
    ),
    _r(
        "role.forged_turn",
        0.85,
        "forges a dialogue between a user and an assistant",
        "user:|user :|human:|human :|usr:|assistant:|ai:|gpt:|model:|system:|system prompt:|system message:|bot:| :",
        r"^\s*(?:human|user|usr)\s*:[^\n]{2,400}\n(?:[^\n]*\n){0,6}?\s*(?:assistant|ai|gpt|bot|model)\s*:"
        r"|^\s*(?:assistant|ai|gpt|model)\s*:[^\n]{0,400}\n(?:[^\n]*\n){0,6}?\s*(?:human|user)\s*:"
        r"|^\s*system\s*(?:prompt|message)?\s*:\s*(?:you are|you're|from now|ignore|new)",
    ),
    # Instruction overrides.
    _r(
        "override.ignore_previous",
        0.97,
        "tells the model to ignore or forget its instructions",
        "ignor|disregard|forget|skip|overrid|overwrit|bypass|abandon|drop|discard|neglect|cancel|set aside|no attention|follow|regardless",
        rf"\b(?:ignore|ignoring|disregard|disregarding|forget|forgetting|skip|override|overwrite|"
        rf"bypass|abandon|drop|discard|neglect|cancel|set aside|pay no attention to|do not follow|"
        rf"don't follow|stop following)\s+(?:(?:of|the|and|my|each|every)\s+){{0,2}}(?:all|any|your|"
        rf"these|those|previous|prior|above|earlier|preceding|foregoing|original|initial|former|"
        rf"system|developer|safety|ethical|content|following|other)\s+(?:(?:all|any|the|your|of|"
        rf"previous|prior|above|earlier|preceding|original|initial|system|developer|safety|and|"
        rf"following|other)\s+){{0,3}}{_INSTR_OVERRIDE}\b"
        rf"|\bregardless of (?:any |all |your |the )?(?:previous|prior|earlier|above|preceding|"
        rf"original)\s+{_INSTR}"
        rf"|\bignore (?:the rest of|everything (?:above|before|else|prior)|all (?:of )?the above|"
        rf"what (?:you were|i) (?:told|said|wrote) (?:before|earlier|above))"
        rf"|\bforget (?:everything|all) (?:(?:you (?:were|have been) told|above|before|prior|"
        rf"i (?:said|told you))|(?:about )?your (?:rules|instructions|guidelines))",
    ),
    _r(
        "override.new_instructions",
        0.85,
        "announces new instructions or a new task for the model",
        "new|real|actual|true|only|updated|revised|primary|from now on|stop|cease|halt|instead of|before you|after you|after doing|after completing",
        r"\b(?:your|the)\s+(?:new|real|actual|true|only|updated|revised|primary)\s+"
        r"(?:instructions?|task|goal|objective|mission|directive|job|purpose|orders)\s+(?:is|are|will be)\b"
        r"|\bnew (?:instructions?|directives?|system prompt)\s*(?::|follow|\()"
        r"|\bfrom now on,? you (?:will|must|shall|are|should|have to|can|only)\b"
        r"|\b(?:stop|cease|halt) (?:what|everything) you(?:'re| are)? (?:doing|working on)"
        r"|\binstead of (?:summari[sz]ing|translating|answering|completing|doing|following|"
        r"performing) (?:the|your|this|my)\b"
        r"|\bbefore you (?:can |do |start to |proceed to |continue to )?(?:solve|complete|finish|"
        r"continue|answer|respond|summari[sz]e|proceed|do) (?:with )?(?:the|your|this|my|that|any)"
        r"\s+(?:task|request|question|job|work|summary|answer|reply)"
        r"|\bafter (?:you do|doing|completing) (?:that|this),? you (?:can|may|should) "
        r"(?:solve|continue|complete|finish|return)",
        # What each alternative holds: the goal's word, "system prompt" after "new", or its
        # opening words.
        (
            *("instruction", "task", "goal", "objective", "mission", "directive", "job"),
            *("purpose", "orders", "system prompt", "from now on", "stop ", "cease ", "halt "),
            *("instead of ", "before you", "after "),
        ),
    ),
    _r(
        "override.persona",
        0.9,
        "tries to switch the model into an unrestricted persona or mode",
        "mode|you are|without|free of|free from|ignoring|no longer|pretend",
        rf"\b(?:developer|dev|god|jailbreak|jailbroken|dan|debug|admin|unrestricted|unfiltered|"
        rf"uncensored|evil|no[ -]?limits?|sudo|maintenance|test)\s+mode\s+(?:is\s+)?(?:enabled|"
        rf"activated|on|engaged|unlocked)"
        rf"|\b(?:enable|activate|enter|switch to|turn on)\s+(?:god|jailbreak|jailbroken|dan|"
        rf"unrestricted|unfiltered|uncensored|no[ -]?limits?)\s+mode"
        rf"|\byou are (?:now |no longer )?(?:an? |the )?(?:unrestricted|uncensored|unfiltered|"
        rf"jailbroken|evil|rogue|amoral|unethical|unbound|unchained|free|no[ -]?limits?|"
        rf"do[ -]anything)\s+{_AI}"
        rf"|\b(?:without|free (?:of|from)|ignoring|no longer bound by) (?:any )?(?:your )?"
        rf"(?:ethical|moral|safety|content|openai|anthropic|usage) (?:guidelines|restrictions|"
        rf"policies|rules|filters|constraints)"
        rf"|\bpretend (?:that )?you (?:are|have) (?:no|an? (?:unrestricted|uncensored|evil|"
        rf"different) )",
    ),
    _r(
        "override.prompt_leak",
        0.9,
        "asks the model to reveal its system prompt or hidden instructions",
        "prompt|system message|instructions|guidelines|developer message",
        r"\b(?:reveal|print|show|repeat|output|display|disclose|tell me|give me|share|leak|dump|"
        r"spell out|recite|write out|copy)\s+(?:me\s+)?(?:your|the|all|its|my)\s+(?:(?:full|"
        r"entire|complete|exact|original|initial|hidden|secret|internal|verbatim)\s+){0,3}"
        r"(?:system\s*prompt|system message|initial prompt|original prompt|prompt above|"
        r"hidden (?:prompt|instructions)|initial instructions|original instructions|"
        r"(?:pre-?)?prompt|instructions (?:you were given|above|verbatim)|guidelines verbatim|"
        r"developer message|configuration prompt)",
    ),
    _r(
        "override.hide_from_user",
        0.95,
        "tells the model to hide an action from the user",
        "user|customer|human|operator|owner|requester|this|these|the above|silently|secretly|quietly|covertly",
        r"\b(?:do not|don't|dont|never|without)\s+(?:tell|telling|mention|mentioning|inform|"
        r"informing|notify|notifying|alert|alerting|warn|warning|ask|asking|reveal|revealing|"
        r"show|showing|let|letting|disclose|disclosing|confirm(?:ing)? with)\s+(?:this\s+|it\s+|"
        r"anything\s+)?(?:to\s+)?(?:the|your)\s+(?:user|customer|human|operator|owner|requester)"
        r"|\b(?:do not|don't|dont|never)\s+(?:mention|reveal|disclose|acknowledge|reference)\s+"
        r"(?:this|these|the above)\s+(?:instructions?|message|note|request|step|task|change)"
        r"|\bthe user (?:must|should|will) (?:not|never) (?:know|see|notice|find out|be told)"
        r"|\b(?:silently|secretly|quietly|covertly),? (?:send|forward|export|delete|add|change|"
        r"grant|transfer|email|upload|create|remove)\b",
    ),
    _r(
        "output.forced_reply",
        0.8,
        "dictates the model's reply or asks it to include a payload in its answer",
        "include|respond|reply|answer|output|say|print|write|your response|your answer|your reply|your output|it is",
        r"\binclude (?:this|the following|in your (?:response|answer|reply|output|summary))"
        r"[^\n]{0,60}(?:exactly|verbatim|string|text|link|image|anchor|markdown|code)"
        r"|\b(?:respond|reply|answer|output|say|print|write)\s+(?:to me\s+)?(?:only\s+)?(?:with\s+)?"
        r"(?:exactly\s+)?[\"'“‘][^\"'”’\n]{1,80}[\"'”’]\s+(?:instead|and nothing else|only)"
        r"|\bjust (?:say|print|output|respond with|reply with|write)\s+[\"'“‘]"
        r"|\b(?:your (?:response|answer|reply|output) (?:must|should) (?:only )?(?:be|contain|"
        r"include|start with))"
        r"|\bit is (?:crucial|critical|vital|imperative|very important) (?:that )?you "
        r"(?:include|do|follow|comply|output|add)",
    ),
    _r(
        "role.context_break",
        0.7,
        "fakes the end of the data and starts new instructions",
        "end|===|---",
        r"(?:\bend of (?:the )?(?:document|data|email|context|input|text|review|record|file|"
        r"customer data|user input|tool output|search results?)|(?:={3,}|-{3,}|\*{3,})\s*end\b[^\n]{0,20})"
        r"[\s.:!\])>=*-]{1,12}(?:new (?:task|instructions?)|now,? (?:you|ignore|send|print|do)|"
        r"(?:system|assistant|ai|admin)\s*:|important\s*:|instructions?\s*:|your (?:next|real|new) task)",
    ),
    # Requests aimed at the AI assistant or agent reading the data.
    _r(
        "agent.addressed",
        0.45,
        "addresses the AI assistant or agent that reads this data",
        " ai|\nai|a.i.|llm|language model|assistant|agent|bot|model|copilot|gpt|claude|gemini|llama|mistral|bard|openai|artificial",
        rf"\b(?:note|message|instructions?|reminder|request|attention|memo|p\.?s\.?)\s+(?:to|for)\s+"
        rf"(?:the |any |all |an? )?(?:ai|llm|{_AI})s?\b"
        rf"|\b(?:dear|hey|hi|hello|attention|psst|important for|to)\s+(?:the )?"
        rf"(?:ai|llm|ai assistant|ai agent|ai model|language model|chatgpt|gpt-?\d[\w.]*|claude|"
        rf"gemini|copilot|assistant reading this|agent reading this)\b"
        rf"|\bif you(?:'re| are) an? (?:ai|llm|language model|automated|autonomous|{_AI})"
        rf"|\b(?:ai|llm) (?:agent|assistant|model)s? (?:reading|processing|summari[sz]ing|"
        rf"parsing|viewing) this\b"
        rf"|\bto you,? (?:the )?(?:ai|llm|{_AI})\b"
        # A line that opens with "AI:" or "assistant:" speaks to the model; "agent:" is also the
        # speaker label of a human support agent in chat transcripts, and is left to
        # agent.imperative (an order after it) and the classifier.
        rf"|^\s*(?:ai|llm|assistant|ai agent|ai assistant)\s*(?::|-{{1,2}}>)\s*\w",
    ),
    _r(
        "agent.imperative",
        0.9,
        "addresses the AI assistant and gives it an order",
        " ai|\nai|llm|agent|assistant|gpt|claude|gemini|copilot",
        r"\b(?:ai|llm|ai agent|ai assistant|agent|assistant|chatgpt|claude|gpt-?\d[\w.]*|gemini|"
        r"copilot)\s*(?:[:,]|-{1,2}>)\s*(?:please\s+|you must\s+|immediately\s+|now\s+)?"
        r"(?:ignore|disregard|forget|delete|remove|send|forward|export|email|add|grant|create|"
        r"change|update|set|transfer|reveal|print|output|execute|run|call|post|upload|unsubscribe|"
        r"schedule|approve|issue|generate|make|reply|respond|tell|say|stop|visit|open|fetch|"
        # A verb followed by a colon is a label ("agent: Update: it ships tomorrow"), not an order.
        r"download|include|summari[sz]e this as)\b(?!\s*:)",
    ),
    # Forged tool, function or SDK calls.
    _r(
        "tool.forged_call",
        0.9,
        "contains a forged tool or function call for the agent to execute",
        "tool|function|invoke|execute|klaviyo.|call|api|endpoint",
        r"[\"']?(?:tool_calls?|function_call|tool_name|tool_use|function\.name)[\"']?\s*[:=]\s*[\[{\"']"
        r"|<\s*/?\s*(?:tool_call|function_call|tool_use|function_calls|invoke|antml:invoke|"
        r"tool_code|execute_code)\b"
        r"|\bklaviyo\.\w+\.\w+\s*\("
        r"|\b(?:call|invoke|use|run|execute|trigger)\s+(?:the\s+)?[`'\"]?(?:execute_code|search_api|"
        r"get_signature|\w+_(?:tool|api|function))[`'\"]?\s+(?:tool|function)?\s*(?:with|to|and)\b"
        r"|\b(?:call|invoke|run|execute)\s+(?:the\s+)?(?:tool|function|api|endpoint)\s+[`'\"]\w+",
        # A name with "_" (or "function.name"), a tag, "klaviyo." or a quoted name.
        ("_", "function.name", "<", "klaviyo.", "`", "'", '"'),
    ),
    # Exfiltration instructions.
    _r(
        "exfil.send_data",
        0.85,
        "instructs sending data (keys, customer data, conversation) to an outside address",
        "http|www.|ftp://|webhook|@|url|link|address|endpoint|server|site|email|inbox",
        rf"\b{_SEND}\s+(?:(?:me|us|them)\s+)?(?:(?:all|every|the|your|my|our|their|its|any|a|an|"
        rf"full|entire|complete|whole|current|user's|users'|customer's|of|copy|list|summary|contents|"
        rf"content|details|body|bodies)\s+){{0,4}}[\w'-]{{0,20}}\s*{_SECRET}\b[^\n]{{0,100}}?"
        rf"\b(?:to|into|at|on|via|using)\s+(?:the\s+)?(?:following\s+)?{_DEST}",
    ),
    _r(
        "exfil.markdown_image",
        0.85,
        "embeds an image or link whose URL carries data placeholders (exfiltration channel)",
        "![|image",
        r"!\[[^\]\n]{0,100}\]\(\s*https?://[^)\s]{1,200}[?&/][^)\s]{0,200}(?:\{|\[|<|\$|%7B|"
        r"=\s*(?:data|secret|key|token|prompt|password|info|conversation|history|user|email|q)\b)"
        r"|\b(?:render|display|show|output|include)\s+(?:this|the following|an?)\s+"
        r"(?:markdown\s+)?image[^\n]{0,80}(?:append|replace|substitut|encode|with the)",
    ),
    _r(
        "exfil.url_fetch",
        0.75,
        "tells the agent to visit, fetch or log in at a URL",
        "http",
        r"\b(?:visit|open|fetch|browse to|navigate to|go to|load|curl|wget|request|ping|"
        r"call|post to|log ?in at|login at|sign in at)\s+(?:this\s+|the\s+)?"
        r"(?:url|link|page|webpage|website|site|endpoint)?\s*:?\s*['\"<]?https?://[^\s'\">]+"
        r"[^\n]{0,80}\b(?:with|and (?:send|include|append|paste|enter|submit)|including|"
        r"containing|passing|append(?:ing)?|then)\b",
    ),
    # Multilingual overrides, hiding and addressing.
    _r(
        "override.ignore_previous.fr",
        0.95,
        "tells the model to ignore its instructions (French)",
        "ignore|oublie|tiens pas|tenez pas|abstraction",
        r"\b(?:ignore[zr]?|oublie[zr]?|ne tiens pas compte|ne tenez pas compte|fais abstraction|"
        r"faites abstraction)\s+(?:de\s+)?(?:toutes?\s+|tous\s+)?(?:les|tes|vos|ces|des)\s+"
        r"(?:\w+\s+){0,2}(?:instructions|consignes|directives|règles|ordres|messages)"
        r"(?:\s+(?:précédentes|antérieures|ci-dessus|initiales|système))?",
    ),
    _r(
        "override.ignore_previous.de",
        0.95,
        "tells the model to ignore its instructions (German)",
        "ignorier|vergiss|vergessen|missacht|übergeh",
        r"\b(?:ignorier(?:e|en sie|t)?|vergiss|vergessen sie|missachte|missachten sie|übergehe)\s+"
        r"(?:bitte\s+)?(?:alle\s+|sämtliche\s+)?(?:\w+\s+){0,2}(?:anweisungen|instruktionen|"
        r"befehle|vorgaben|regeln|richtlinien|anordnungen)"
        r"|\b(?:alle|sämtliche)\s+(?:vorherigen|bisherigen|obigen|vorangegangenen)\s+"
        r"(?:anweisungen|instruktionen|befehle|regeln)\s+(?:ignorieren|vergessen|missachten)",
    ),
    _r(
        "override.ignore_previous.es",
        0.95,
        "tells the model to ignore its instructions (Spanish)",
        "ignor|olvid|caso omiso|descarta|desestima|omite",
        r"\b(?:ignora|ignore|ignorar|ignoren|olvida|olvide|olviden|olvidar|haz caso omiso de|"
        r"descarta|desestima|omite)\s+(?:todas\s+|todos\s+)?(?:las|tus|sus|los|estas|esas)\s+"
        r"(?:\w+\s+){0,2}(?:instrucciones|indicaciones|órdenes|reglas|directrices|mensajes)",
    ),
    _r(
        "override.ignore_previous.pt",
        0.95,
        "tells the model to ignore its instructions (Portuguese)",
        "ignor|esque|desconsider|descarte",
        r"\b(?:ignore|ignora|ignorar|ignorem|esqueça|esquece|esqueçam|desconsidere|desconsidera|"
        r"descarte)\s+(?:todas\s+)?(?:as|suas|tuas|estas|essas)\s+(?:\w+\s+){0,2}"
        r"(?:instruções|instrucoes|orientações|ordens|regras|diretrizes|mensagens)",
    ),
    _r(
        "override.ignore_previous.it",
        0.95,
        "tells the model to ignore its instructions (Italian)",
        "ignor|dimentic|trascura|non considerare|non tenere",
        r"\b(?:ignora|ignori|ignorate|ignorare|dimentica|dimentichi|dimenticate|trascura|"
        r"non considerare|non tenere conto del?l?e?)\s+(?:tutte\s+)?(?:le|tue|sue|queste|quelle)?\s*"
        r"(?:\w+\s+){0,2}(?:istruzioni|indicazioni|direttive|regole|ordini|messaggi)",
    ),
    _r(
        "override.ignore_previous.nl",
        0.95,
        "tells the model to ignore its instructions (Dutch)",
        "negeer|vergeet|vergeten|sla ",
        r"\b(?:negeer|negeert|vergeet|vergeten|sla)\s+(?:alle\s+|al\s+)?(?:de\s+|je\s+|jouw\s+|uw\s+)?"
        r"(?:\w+\s+){0,2}(?:instructies|opdrachten|aanwijzingen|regels|richtlijnen|berichten)",
    ),
    _r(
        "override.ignore_previous.other",
        0.95,
        "tells the model to ignore its instructions (Polish, Nordic, Turkish, Russian, CJK)",
        "ignoruj|zapomnij|ignorera|glöm|strunta|ignorer|glem|talimat|komut|kural|игнор|забуд|внимания|忽略|无视|忘记|忘掉|不要理会|忽視|無視|無視|忘れ|무시|잊어",
        r"\b(?:zignoruj|ignoruj|zapomnij)\s+(?:\w+\s+){0,3}(?:instrukcje|polecenia|zasady|"
        r"wytyczne)"
        r"|\b(?:ignorera|glöm|strunta i)\s+(?:\w+\s+){0,3}(?:instruktioner|instruktionerna|regler)"
        r"|\b(?:ignorer|glem)\s+(?:\w+\s+){0,3}(?:instruktioner|instruksjoner|instruksjonene|regler)"
        r"|(?:önceki|tüm|bütün)\s+(?:\w+\s+){0,2}(?:talimatları|talimatlari|komutları|kuralları)\s+"
        r"(?:yok say|görmezden gel|unut|dikkate alma)"
        r"|(?:игнорируй(?:те)?|забудь(?:те)?|проигнорируй(?:те)?|не обращай(?:те)? внимания на)\s+"
        r"(?:\w+\s+){0,3}(?:инструкции|указания|правила|команды|сообщения)"
        r"|(?:忽略|无视|忘记|忘掉|不要理会|忽視|無視)(?:掉)?(?:你|您)?(?:之前|以前|先前|上面|上述|"
        r"所有|全部|前面)?(?:的)?(?:所有|全部)?(?:的)?(?:指令|指示|说明|說明|规则|規則|提示|命令)"
        r"|(?:以前|前|上記|これまで|今まで)の(?:すべての|全ての)?(?:指示|命令|ルール|指令)を"
        r"(?:すべて|全て)?(?:無視|忘れ)"
        r"|(?:이전|기존|위의|모든)\s*(?:지시|지침|명령|규칙)(?:사항)?(?:을|를)?\s*(?:무시|잊어)",
    ),
    _r(
        "override.forget_everything.ml",
        0.9,
        "tells the model to forget everything said before (several languages)",
        "vergiss|oublie|olvida|esque|dimentica|vergeet|zapomnij|забудь|忘",
        r"\bvergiss alles(?:,)?\s+(?:davor|vorher|bisher|zuvor|oben|was (?:vorher|davor|bisher|zuvor|"
        r"ich|wir|du) )"
        r"|\boublie[zr]? tout ce qui (?:précède|a été dit|est au-dessus)|\boublie[zr]? tout ce que je t'ai dit"
        r"|\bolvida(?:r)? todo lo (?:anterior|que te (?:dije|han dicho)|dicho)"
        r"|\besque(?:ça|ce)(?:r)? tudo (?:o que foi dito|o que eu disse|acima|anterior)"
        r"|\bdimentica tutto (?:quello che ti ho detto|ciò che (?:precede|è stato detto)|quanto detto)"
        r"|\bvergeet alles wat (?:eerder|hiervoor|ik) (?:is gezegd|gezegd|zei)"
        r"|\bzapomnij (?:o )?wszystk(?:o|im),? co (?:powiedziano|było wcześniej)"
        r"|забудь(?:те)? (?:всё|все),? что (?:было сказано|я говорил)|忘记(?:之前|以上)(?:所有|的一切)",
    ),
    _r(
        "override.hide_from_user.ml",
        0.9,
        "tells the model to hide an action from the user (non-English)",
        "utilisateur|benutzer|nutzer|anwender|kunden|usuario|usuário|utente|gebruiker|użytkownik|пользовател|用户|使用者|ユーザー",
        r"\bne (?:le |lui |leur )?(?:dis|dites|mentionne|mentionnez|signale|signalez|révèle|"
        r"révélez) (?:rien |pas |jamais )(?:rien )?(?:à|a) l'utilisateur"
        r"|\bsans (?:en )?(?:informer|prévenir|avertir|le dire à|demander à) l'utilisateur"
        r"|\b(?:sag|sage|sagen sie|erwähne|erwähnen sie|verrate|verraten sie)\s+(?:es\s+|das\s+|"
        r"dies\s+)?(?:dem|den)\s+(?:benutzer|nutzer|anwender|kunden)\s+nicht"
        r"|\bohne (?:den|die) (?:benutzer|nutzer|anwender|kunden)\s+(?:zu\s+)?(?:informieren|fragen|"
        r"benachrichtigen)"
        r"|\bno (?:se lo |le )?(?:digas|diga|menciones|mencione|informes|informe|cuentes|avises)\s+"
        r"(?:nada\s+)?(?:esto\s+)?al usuario"
        r"|\bsin (?:informar|avisar|decirle|notificar|preguntar)(?: nada)? al usuario"
        r"|\bnão (?:conte|diga|informe|mencione|avise|revele)\s+(?:nada\s+)?(?:isso\s+)?"
        r"(?:ao|para o) usuário"
        r"|\bsem (?:informar|avisar|notificar|perguntar)(?: ao)? (?:o )?usuário"
        r"|\bnon (?:dire|dirlo|informare|menzionare|rivelare)\s+(?:nulla\s+|niente\s+)?"
        r"(?:all'|a l')utente"
        r"|\bsenza (?:informare|avvisare|dire(?: nulla)? a|chiedere a)(?:ll')? ?l?'?utente"
        r"|\bvertel (?:dit |het )?niet aan de gebruiker|\bzonder de gebruiker te (?:informeren|"
        r"vertellen|waarschuwen)"
        r"|\bnie (?:mów|informuj|wspominaj)\s+(?:o tym\s+)?użytkownikowi"
        r"|не (?:говори|сообщай|рассказывай)(?:те)?\s+(?:об этом\s+)?пользовател"
        r"|(?:不要|别|不得)(?:告诉|通知|提醒)(?:用户|使用者)|ユーザーに(?:知らせ|伝え|言わ)ないで",
    ),
    _r(
        "override.prompt_leak.ml",
        0.85,
        "asks the model to reveal its system prompt (non-English)",
        "prompt|invite|système|systeme|mensaje|mensagem|messaggio|промпт|系统提示|システムプロンプト",
        r"\b(?:révèle|révélez|affiche|affichez|montre|montrez|donne-moi|répète|répétez)\s+"
        r"(?:ton|votre|le)\s+(?:prompt|invite|message)\s+(?:système|systeme|initial)"
        r"|\b(?:zeige|zeig|gib|verrate|nenne|wiederhole)\s+(?:mir\s+)?(?:deinen|ihren|den)\s+"
        r"(?:system-?prompt|systemprompt|ursprünglichen prompt|anweisungen)"
        r"|\b(?:revela|muestra|muéstrame|dime|repite|revele|mostre|mostra|rivela|mostrami|ripeti|"
        r"toon|laat zien)\s+(?:tu|el|su|o|seu|il|tuo|je|jouw)\s+(?:prompt|mensaje|mensagem|"
        r"messaggio|systeemprompt)\s*(?:del|do|di|de)?\s*(?:sistema|systeem)?"
        r"|(?:покажи|раскрой|выведи)\s+(?:свой\s+)?(?:системный\s+)?(?:промпт|prompt)"
        r"|(?:显示|告诉我|输出|泄露)(?:你的)?系统提示|システムプロンプトを(?:表示|教え|出力)",
    ),
    _r(
        "agent.addressed.ml",
        0.5,
        "addresses the AI assistant or agent that reads this data (non-English)",
        "l'ia|l’ia|l'assistant|l’assistant|l'agent|l’agent|une ia|un assistant|un agent|un modèle| ki|ki-|assistenten|agenten|sprachmodell|ein assistent| ia|asistente|assistente|agente|modelo|modello| ai|assistent|taalmodel|人工智能|助手|智能体|アシスタント|에게",
        r"\b(?:note|message|consigne|remarque)\s+(?:à|a|pour)\s+(?:l'|l’)(?:ia|assistant|agent)\b"
        r"|\bsi (?:tu es|vous êtes) (?:une ia|un assistant|un agent|un modèle)"
        r"|\b(?:hinweis|nachricht|anweisung|notiz)\s+(?:für|an)\s+(?:die\s+|den\s+)?"
        r"(?:ki|ki-assistenten|ki-agenten|assistenten|agenten|sprachmodell)\b"
        r"|\bwenn du (?:eine ki|ein ki-|ein sprachmodell|ein assistent)"
        r"|\b(?:nota|mensaje|mensagem|messaggio|aviso)\s+(?:para|per)\s+(?:la |el |a |o |l')?"
        r"(?:ia|asistente|assistente|agente|modelo|modello)\b"
        r"|\bsi eres una? (?:ia|asistente|agente)|\bse você (?:é|for) uma? (?:ia|assistente|agente)"
        r"|\bse sei una? (?:ia|assistente|agente)"
        r"|\b(?:notitie|bericht|opmerking)\s+(?:voor|aan)\s+(?:de\s+)?(?:ai|assistent|agent)\b"
        r"|\bals je een (?:ai|assistent|taalmodel) bent"
        r"|(?:給|给|致)(?:ai|人工智能|助手|智能体)|aiアシスタントへ|ai에게",
        # Each alternative's opening words (its anchors "ai", "ia", "ki", "agente" are common).
        (
            *("l'", "l’", "si tu es", "si vous êtes", "hinweis", "nachricht", "anweisung"),
            *("notiz", "wenn du", "nota", "mensaje", "mensagem", "messaggio", "aviso", "si eres"),
            *("se você", "se sei", "notitie", "bericht", "opmerking", "als je een", "給", "给"),
            *("致", "aiアシスタントへ", "ai에게"),
        ),
    ),
)
