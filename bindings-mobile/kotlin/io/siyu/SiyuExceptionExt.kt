// Hand-written companion of the generated bindings (package io.siyu): uniform
// access to the fields every SiyuException variant carries. The `when` is
// exhaustive over the sealed class, so a variant added to the Rust enum without
// updating this file fails to compile.
package io.siyu

/** The fields common to every siyu error. */
data class SiyuErrorInfo(
    /** The core's stable code, e.g. `RULE_SYNTAX`. */
    val code: String,
    /** The human-readable message. */
    val detail: String,
    /** 1-based line of the source position, if any. */
    val line: UInt?,
    /** 1-based column of the source position, if any. */
    val column: UInt?,
    /** Where in a document the error is, if known. */
    val path: String?,
    /** A "did you mean" suggestion, if any. */
    val suggestion: String?,
)

/** The fields common to every variant. */
val SiyuException.info: SiyuErrorInfo
    get() = when (this) {
        is SiyuException.RuleSyntax -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.InvalidJson -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.UnknownTrait -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.UnknownEvent -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.UnknownProperty -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.UnknownSegment -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.UnknownTagGroup -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.UnknownFunction -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.TypeMismatch -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.SegmentCycle -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.DuplicateName -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.LimitExceeded -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.InvalidRegex -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.InvalidTimeZone -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.InvalidTime -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.InvalidSchema -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.InvalidProfile -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.InvalidEvent -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.InvalidMerge -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.InvalidArgument -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.InvalidModel -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.InvalidState -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.NumericDomain -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
        is SiyuException.Internal -> SiyuErrorInfo(code, detail, line, column, path, suggestion)
    }

/** The core's stable code, e.g. `RULE_SYNTAX`. */
val SiyuException.code: String
    get() = info.code
