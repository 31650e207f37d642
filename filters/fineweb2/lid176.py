"""fastText lid.176 labels as FineWeb-2 language codes (``<iso639-3>_<Script>``, GlotLID's labels).

FineWeb-2 labelled pages with GlotLID, whose labels name the language and the script (``fra_Latn``).
lid.176 (the model that ships offline, ``curation.assets.lid176_path()``) says ``fr``: ``LID176_TO_FINEWEB2``
maps each of its 176 labels to the code of the FineWeb-2 config that fits the text lid.176 was trained
on (Wikipedia, Tatoeba, SETimes). The rules, in order:

- an ISO 639-1 label (``fr``) becomes its ISO 639-3 code in the script the language is normally written
  in (``fra_Latn``); lid.176's three-letter labels (``ceb``, ``war``) are ISO 639-3 already;
- a macrolanguage becomes the member FineWeb-2 (and datatrove's ``tokenizer_assignment.csv``, column
  ``default_code_1``) uses for it: ``ar`` -> ``arb_Arab`` (Standard Arabic), ``zh`` -> ``cmn_Hani``
  (Mandarin; FineWeb-2 has no ``zho_Hani`` config), ``fa`` -> ``fas_Arab``, ``ms`` -> ``zsm_Latn``,
  ``sq`` -> ``als_Latn`` (Tosk, i.e. standard Albanian), ``et`` -> ``ekk_Latn``, ``lv`` -> ``lvs_Latn``,
  ``az`` -> ``azj_Latn``, ``uz`` -> ``uzn_Latn``, ``ne`` -> ``npi_Deva``, ``mn`` -> ``khk_Cyrl``,
  ``or`` -> ``ory_Orya``, ``mg`` -> ``plt_Latn``, ``sw`` -> ``swh_Latn``, ``yi`` -> ``ydd_Hebr``,
  ``ps`` -> ``pbt_Arab``, ``kv`` -> ``kpv_Cyrl``, ``sc`` -> ``srd_Latn``, ``gn`` -> ``gug_Latn``,
  ``qu`` -> ``quh_Latn`` (datatrove's choice; lid.176 cannot tell the Quechuas apart);
- a language written in several scripts takes the script of lid.176's training text (Wikipedia):
  ``sr`` -> ``srp_Cyrl`` (Serbian Wikipedia is Cyrillic first), ``ja`` -> ``jpn_Jpan``, ``ko`` -> ``kor_Hang``,
  ``uz`` -> Latin, ``az`` -> Latin, ``tt`` -> ``tat_Cyrl``, ``tk`` -> ``tuk_Latn``, ``ug`` -> ``uig_Arab``,
  ``sd`` -> ``snd_Arab``, ``pa`` -> ``pan_Guru`` (Shahmukhi Punjabi is lid.176's ``pnb``), ``ro`` -> ``ron_Latn``,
  ``hi``/``bn``/``ta``/``te``/... -> their native scripts (romanised text is not what lid.176 learnt),
  ``gom`` -> ``gom_Deva`` (Konkani's official script; FineWeb-2 also has ``gom_Latn``);
- Wikipedia codes that are not the ISO 639-3 code of the same name: ``als`` is Alemannic on Wikipedia
  (``gsw_Latn``), not Tosk Albanian; ``bh`` is Bihari, whose Wikipedia is in Bhojpuri (``bho_Deva``);
  ``no`` is Bokmal (``nob_Latn``; FineWeb-2 has no ``nor`` config); ``tl`` is Tagalog, which FineWeb-2
  files under Filipino (``fil_Latn``); ``ku`` is Kurmanji (``kmr_Latn``; Sorani is lid.176's ``ckb``);
- two labels have no FineWeb-2 config, and documents with them are dropped as ``no_language_config``:
  ``en`` (``eng_Latn``: English is FineWeb's recipe, pipelines/fineweb.yaml) and ``sh`` (Serbo-Croatian,
  ``hbs_Latn``: GlotLID splits it into ``hrv``/``bos``/``srp``/``cnr`` and lid.176 cannot).

lid.176's scores are not GlotLID's: FineWeb-2's ``language_score`` thresholds were set on GlotLID's
scores, so with lid.176 they are an approximation (use ``model_path`` with a GlotLID model file for
FineWeb-2's own labels and scores).
"""

from __future__ import annotations

LID176_TO_FINEWEB2: dict[str, str] = {
    "en": "eng_Latn", "ru": "rus_Cyrl", "de": "deu_Latn", "fr": "fra_Latn", "it": "ita_Latn", "ja": "jpn_Jpan", "es": "spa_Latn",
    "ceb": "ceb_Latn", "tr": "tur_Latn", "pt": "por_Latn", "uk": "ukr_Cyrl", "eo": "epo_Latn", "pl": "pol_Latn", "sv": "swe_Latn",
    "nl": "nld_Latn", "he": "heb_Hebr", "zh": "cmn_Hani", "hu": "hun_Latn", "ar": "arb_Arab", "ca": "cat_Latn", "fi": "fin_Latn",
    "cs": "ces_Latn", "fa": "fas_Arab", "sr": "srp_Cyrl", "el": "ell_Grek", "vi": "vie_Latn", "bg": "bul_Cyrl", "ko": "kor_Hang",
    "no": "nob_Latn", "mk": "mkd_Cyrl", "ro": "ron_Latn", "id": "ind_Latn", "th": "tha_Thai", "hy": "hye_Armn", "da": "dan_Latn",
    "ta": "tam_Taml", "hi": "hin_Deva", "hr": "hrv_Latn", "sh": "hbs_Latn", "be": "bel_Cyrl", "ka": "kat_Geor", "te": "tel_Telu",
    "kk": "kaz_Cyrl", "war": "war_Latn", "lt": "lit_Latn", "gl": "glg_Latn", "sk": "slk_Latn", "bn": "ben_Beng", "eu": "eus_Latn",
    "sl": "slv_Latn", "kn": "kan_Knda", "ml": "mal_Mlym", "mr": "mar_Deva", "et": "ekk_Latn", "az": "azj_Latn", "ms": "zsm_Latn",
    "sq": "als_Latn", "la": "lat_Latn", "bs": "bos_Latn", "nn": "nno_Latn", "ur": "urd_Arab", "lv": "lvs_Latn", "my": "mya_Mymr",
    "tt": "tat_Cyrl", "af": "afr_Latn", "oc": "oci_Latn", "nds": "nds_Latn", "ky": "kir_Cyrl", "ast": "ast_Latn", "tl": "fil_Latn",
    "is": "isl_Latn", "ia": "ina_Latn", "si": "sin_Sinh", "gu": "guj_Gujr", "km": "khm_Khmr", "br": "bre_Latn", "ba": "bak_Cyrl",
    "uz": "uzn_Latn", "bo": "bod_Tibt", "pa": "pan_Guru", "vo": "vol_Latn", "als": "gsw_Latn", "ne": "npi_Deva", "cy": "cym_Latn",
    "jbo": "jbo_Latn", "fy": "fry_Latn", "mn": "khk_Cyrl", "lb": "ltz_Latn", "ce": "che_Cyrl", "ug": "uig_Arab", "tg": "tgk_Cyrl",
    "sco": "sco_Latn", "sa": "san_Deva", "cv": "chv_Cyrl", "jv": "jav_Latn", "min": "min_Latn", "io": "ido_Latn", "or": "ory_Orya",
    "as": "asm_Beng", "new": "new_Deva", "ga": "gle_Latn", "mg": "plt_Latn", "an": "arg_Latn", "ckb": "ckb_Arab", "sw": "swh_Latn",
    "bar": "bar_Latn", "lmo": "lmo_Latn", "yi": "ydd_Hebr", "arz": "arz_Arab", "mhr": "mhr_Cyrl", "azb": "azb_Arab", "sah":
    "sah_Cyrl", "pnb": "pnb_Arab", "su": "sun_Latn", "bpy": "bpy_Beng", "pms": "pms_Latn", "ilo": "ilo_Latn", "wuu": "wuu_Hani", "ku":
    "kmr_Latn", "ps": "pbt_Arab", "ie": "ile_Latn", "xmf": "xmf_Geor", "yue": "yue_Hani", "gom": "gom_Deva", "li": "lim_Latn", "mwl":
    "mwl_Latn", "kw": "cor_Latn", "sd": "snd_Arab", "hsb": "hsb_Latn", "scn": "scn_Latn", "gd": "gla_Latn", "pam": "pam_Latn", "bh":
    "bho_Deva", "mai": "mai_Deva", "vec": "vec_Latn", "mt": "mlt_Latn", "dv": "div_Thaa", "wa": "wln_Latn", "mzn": "mzn_Arab", "am":
    "amh_Ethi", "qu": "quh_Latn", "eml": "eml_Latn", "cbk": "cbk_Latn", "tk": "tuk_Latn", "rm": "roh_Latn", "os": "oss_Cyrl", "vls":
    "vls_Latn", "yo": "yor_Latn", "lo": "lao_Laoo", "lez": "lez_Cyrl", "so": "som_Latn", "myv": "myv_Cyrl", "diq": "diq_Latn", "mrj":
    "mrj_Cyrl", "dsb": "dsb_Latn", "frr": "frr_Latn", "ht": "hat_Latn", "gn": "gug_Latn", "bxr": "bxr_Cyrl", "kv": "kpv_Cyrl", "sc":
    "srd_Latn", "nah": "nah_Latn", "krc": "krc_Cyrl", "bcl": "bcl_Latn", "nap": "nap_Latn", "gv": "glv_Latn", "av": "ava_Cyrl", "rue":
    "rue_Cyrl", "xal": "xal_Cyrl", "pfl": "pfl_Latn", "dty": "dty_Deva", "hif": "hif_Latn", "co": "cos_Latn", "lrc": "lrc_Arab",
    "vep": "vep_Latn", "tyv": "tyv_Cyrl",
}


def fineweb2_code(label: str) -> str:
    """The FineWeb-2 code of a lid.176 label (``fr`` -> ``fra_Latn``); an unknown label is returned unchanged."""
    return LID176_TO_FINEWEB2.get(label, label)
