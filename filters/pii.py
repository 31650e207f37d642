"""Email and IP address replacement, as datatrove 0.10.1's ``PIIFormatter`` (FineWeb's last step).

Same regular expressions, validation (only public IPs by default) and replacements, taken in
turn from the replacement lists; like datatrove's, the turn carries over from one document to
the next within a shard (datatrove: within a task, one input file), so a stream gets the same
text as with datatrove. The turn starts again at every shard: a worker process runs many
shards with the same step, and carrying the turn from one shard to the next would make a
shard's text depend on which shards its worker ran before. The only other change is skipping a
regular expression when the text cannot match it (no ``@``: no email; no digit, dot, digit in a row: no IP address).
Counts go to the step's counters: ``emails_replaced``, ``ips_replaced``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator

from curation.document import Document
from curation.stats import StepStats
from curation.step import DocumentStep, StepParams

EMAIL_REGEX = (
    r"\b[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:(?:[A-Za-z0-9](?:["
    r"A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?|\[(?:(?:25[0-5]|2[0-4][0-9]|["
    r"01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?|[A-Za-z0-9-]*[A-Za-z0-9]:)])"
)
IP_REGEX = r"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)"

# Every IP match has a digit, a dot and a digit in a row (each of its numbers starts and ends with [0-9]):
# a text without one is not searched with IP_REGEX, several times slower to scan
_IP_HINT = re.compile(r"[0-9]\.[0-9]")


def public_ip_validator(ip: str, public_only: bool = True) -> bool:
    try:
        address = ipaddress.ip_address(ip)
        return not public_only or address.is_global
    except ValueError:
        return False


class PIIReplacer:
    """datatrove ``PIIReplacer``: replace valid matches, cycling through the replacements."""

    def __init__(self, regex: str, replacements: tuple[str, ...], validator: Callable[[str], bool] | None = None):
        self.regex = re.compile(regex)
        self.replacements = replacements
        self.validator = validator
        self._replace_i = 0

    def restart(self) -> None:
        """The first replacement comes next (at the start of a shard)."""
        self._replace_i = 0

    def replace(self, text: str) -> tuple[str, int]:
        count = 0

        def get_replacement(match: re.Match) -> str:
            nonlocal count
            if self.validator and not self.validator(match.group(0)):
                return match.group(0)  # not a valid match: leave it
            replacement = self.replacements[self._replace_i]
            self._replace_i = (self._replace_i + 1) % len(self.replacements)
            count += 1
            return replacement

        return self.regex.sub(get_replacement, text), count


def _as_tuple(replacements: tuple[str, ...] | str) -> tuple[str, ...]:
    return (replacements,) if isinstance(replacements, str) else tuple(replacements)


class PIIParams(StepParams):
    remove_emails: bool = True
    remove_ips: bool = True
    only_remove_public_ips: bool = True
    # example.com/org are maintained as examples
    email_replacement: tuple[str, ...] | str = ("email@example.com", "firstname.lastname@example.org")
    # datatrove's randomly generated IPs (they did not answer pings when the list was made)
    ip_replacement: tuple[str, ...] | str = (
        "22.214.171.124",
        "126.96.36.199",
        "188.8.131.52",
        "184.108.40.206",
        "220.127.116.11",
        "18.104.22.168",
    )


class PIIFormatter(DocumentStep):
    """Replace email addresses and public IP addresses in ``doc.text``."""

    name = "pii_formatter"
    Params = PIIParams

    def __init__(self, params: StepParams | None = None, label: str | None = None):
        super().__init__(params, label)
        p = self.params
        self.emails_replacer = PIIReplacer(EMAIL_REGEX, _as_tuple(p.email_replacement))
        only_public = p.only_remove_public_ips
        self.ip_replacer = PIIReplacer(
            IP_REGEX, _as_tuple(p.ip_replacement), validator=lambda ip: public_ip_validator(ip, public_only=only_public)
        )

    def apply(self, text: str) -> tuple[str, int, int]:
        """(new text, emails replaced, IPs replaced)."""
        emails = ips = 0
        if self.params.remove_emails and "@" in text:  # every email match has an "@"
            text, emails = self.emails_replacer.replace(text)
        if self.params.remove_ips and _IP_HINT.search(text):
            text, ips = self.ip_replacer.replace(text)
        return text, emails, ips

    def run(self, docs: Iterable[Document], stats: StepStats) -> Iterator[Document]:
        self.emails_replacer.restart()  # one shard's text must not depend on the shards run before it
        self.ip_replacer.restart()
        for doc in docs:
            doc.text, emails, ips = self.apply(doc.text)
            if emails:
                stats.count("emails_replaced", emails)
            if ips:
                stats.count("ips_replaced", ips)
            yield doc
