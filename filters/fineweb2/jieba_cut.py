"""jieba's default cut of one block, with fewer Python steps: the same pieces as ``jieba.cut(block)``.

``jieba.cut(text)`` (``cut_all=False``, HMM on, as spaCy's Chinese tokenizer calls it) splits the text
into blocks with ``re_han_default`` and cuts each matching block with ``Tokenizer.__cut_DAG``:

1. the dictionary graph: from each position, every dictionary word that starts there;
2. the best route, from the end backwards: at each position the word maximizing
   ``log(freq or 1) - log(total) + best score after it`` (ties: the longer word);
3. single characters in a row are buffered; a buffer of two or more that is not a dictionary word
   goes to the HMM (``finalseg.cut``: Viterbi over the states B, M, E, S), else character by character.

Here (1) and (2) are one backward pass with each word's log-probability computed once per process, and
the Viterbi keeps back-pointers in four local variables instead of copying paths. Every float is the
same sum in the same order as jieba's, and every tie goes where jieba's ``max`` over tuples sends it, so
the pieces are jieba's own (``tests/test_fineweb2_library_splitters.py`` compares them on every real
Chinese text and on random ones).
"""

from __future__ import annotations

from math import log

_B, _M, _E, _S = 0, 1, 2, 3


class JiebaBlockCutter:
    """``list(jieba.cut(block))`` for a block ``re_han_default`` matches whole, for one jieba tokenizer."""

    def __init__(self, tokenizer, finalseg):
        tokenizer.check_initialized()
        self.tokenizer = tokenizer
        self._dictionary()
        self.re_han = finalseg.re_han
        self.re_skip = finalseg.re_skip
        self.force_split = finalseg.Force_Split_Words  # jieba's set (empty unless a user adds words)
        low = finalseg.MIN_FLOAT
        states = "BMES"
        self.start = tuple(finalseg.start_P[y] for y in states)
        self.emit = tuple(finalseg.emit_P[y] for y in states)
        self.low = low
        # trans[y0][y] as viterbi reads it: trans_p[y0].get(y, MIN_FLOAT)
        self.trans = tuple(tuple(finalseg.trans_P[y0].get(y, low) for y in states) for y0 in states)

    def _dictionary(self) -> None:
        """Read the tokenizer's dictionary (again: a user may have added words since)."""
        self.freq: dict[str, int] = self.tokenizer.FREQ
        self.total = self.tokenizer.total
        self.logtotal = log(self.total)
        self._logp: dict[str, float] = {}  # word -> log(freq or 1) - log(total), as jieba's calc computes it

    def _lp(self, word: str) -> float:
        found = self._logp.get(word)
        if found is None:
            found = self._logp[word] = log(self.freq.get(word) or 1) - self.logtotal
        return found

    def cut(self, block: str) -> list[str]:
        """jieba's pieces of ``block`` (``Tokenizer.__cut_DAG``)."""
        if self.tokenizer.FREQ is not self.freq or self.tokenizer.total != self.total:
            self._dictionary()
        freq = self.freq
        lp = self._lp
        n = len(block)
        score = [0.0] * (n + 1)  # route[k][0]; route[n] = (0, 0)
        end = [0] * (n + 1)  # route[k][1]: where the best word from k ends (inclusive)
        for k in range(n - 1, -1, -1):
            best = None
            last = k
            i = k
            frag = block[k]
            while i < n and frag in freq:
                if freq[frag]:
                    value = lp(frag) + score[i + 1]
                    # max over (value, i) tuples with i increasing: an equal value and a larger i wins
                    if best is None or value >= best:
                        best, last = value, i
                i += 1
                frag = block[k : i + 1]
            if best is None:  # no word starts here: the character alone
                best = lp(block[k]) + score[k + 1]
            score[k] = best
            end[k] = last
        pieces: list[str] = []
        x = 0
        buf = ""
        while x < n:
            y = end[x] + 1
            if y - x == 1:
                buf += block[x]
            else:
                if buf:
                    self._flush(buf, pieces)
                    buf = ""
                pieces.append(block[x:y])
            x = y
        if buf:
            self._flush(buf, pieces)
        return pieces

    def _flush(self, buf: str, pieces: list[str]) -> None:
        """Single characters in a row: one, a dictionary word (its characters), or the HMM's pieces."""
        if len(buf) == 1:
            pieces.append(buf)
        elif not self.freq.get(buf):
            self._hmm_cut(buf, pieces)
        else:
            pieces.extend(buf)

    def _hmm_cut(self, text: str, pieces: list[str]) -> None:
        """``finalseg.cut(text)``."""
        re_han = self.re_han
        for blk in re_han.split(text):
            if re_han.match(blk):
                for word in self._viterbi_words(blk):
                    if word in self.force_split:
                        pieces.extend(word)
                    else:
                        pieces.append(word)
            else:
                pieces.extend(x for x in self.re_skip.split(blk) if x)

    def _viterbi_words(self, obs: str) -> list[str]:
        """``finalseg.__cut(obs)``: Viterbi's states, then the words they mark."""
        low = self.low
        eB, eM, eE, eS = self.emit
        (tBB, tBM, tBE, tBS), (tMB, tMM, tME, tMS), (tEB, tEM, tEE, tES), (tSB, tSM, tSE, tSS) = self.trans
        c = obs[0]
        vB = self.start[_B] + eB.get(c, low)
        vM = self.start[_M] + eM.get(c, low)
        vE = self.start[_E] + eE.get(c, low)
        vS = self.start[_S] + eS.get(c, low)
        back: list[tuple[int, int, int, int]] = []  # per step, the previous state of each of B, M, E, S
        for c in obs[1:]:
            emB, emM, emE, emS = eB.get(c, low), eM.get(c, low), eE.get(c, low), eS.get(c, low)
            # PrevStatus: B from E or S, M from M or B, E from B or M, S from S or E; on a tie,
            # max over (prob, state) tuples takes the later letter (S over E, M over B)
            pE, pS = vE + tEB + emB, vS + tSB + emB
            nB, fB = (pE, _E) if pE > pS else (pS, _S)
            pM, pB = vM + tMM + emM, vB + tBM + emM
            nM, fM = (pB, _B) if pB > pM else (pM, _M)
            pB, pM = vB + tBE + emE, vM + tME + emE
            nE, fE = (pB, _B) if pB > pM else (pM, _M)
            pS, pE = vS + tSS + emS, vE + tES + emS
            nS, fS = (pE, _E) if pE > pS else (pS, _S)
            vB, vM, vE, vS = nB, nM, nE, nS
            back.append((fB, fM, fE, fS))
        state = _E if vE > vS else _S
        states = [state]
        for step in reversed(back):
            state = step[state]
            states.append(state)
        states.reverse()
        words: list[str] = []
        begin = nexti = 0
        for i, state in enumerate(states):
            if state == _B:
                begin = i
            elif state == _E:
                words.append(obs[begin : i + 1])
                nexti = i + 1
            elif state == _S:
                words.append(obs[i])
                nexti = i + 1
        if nexti < len(obs):
            words.append(obs[nexti:])
        return words
