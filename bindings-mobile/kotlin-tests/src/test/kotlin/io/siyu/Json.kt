package io.siyu

import org.json.JSONArray
import org.json.JSONObject

/** Subset matcher of conformance/README.md (mirrors core/tests/conformance/support.rs). */
fun matches(expected: Any?, actualIn: Any?, tolerance: Double, path: String) {
    val actual = actualIn ?: JSONObject.NULL
    when (expected) {
        is JSONObject -> {
            if (actual !is JSONObject) throw AssertionError("$path: expected $expected, got $actual")
            for (k in expected.keySet()) matches(expected.get(k), actual.opt(k), tolerance, "$path.$k")
        }
        is JSONArray -> {
            if (actual !is JSONArray) throw AssertionError("$path: expected $expected, got $actual")
            if (expected.length() != actual.length()) {
                throw AssertionError("$path: expected ${expected.length()} items, got ${actual.length()}: $actual")
            }
            for (i in 0 until expected.length()) matches(expected.get(i), actual.get(i), tolerance, "$path[$i]")
        }
        is Number -> {
            if (actual !is Number) throw AssertionError("$path: expected $expected, got $actual")
            val e = expected.toDouble()
            val a = actual.toDouble()
            if (Math.abs(e - a) > tolerance * Math.max(Math.abs(e), 1.0)) {
                throw AssertionError("$path: expected $e, got $a")
            }
        }
        else -> if (expected != actual) throw AssertionError("$path: expected $expected, got $actual")
    }
}

/** The JSON form of a siyu error, as the core writes it (position without offset). */
fun SiyuException.toJson(): JSONObject {
    val i = info
    val o = JSONObject()
    o.put("code", i.code)
    o.put("message", i.detail)
    if (i.line != null && i.column != null) {
        o.put("position", JSONObject().put("line", i.line.toLong()).put("column", i.column.toLong()))
    }
    i.path?.let { o.put("path", it) }
    i.suggestion?.let { o.put("suggestion", it) }
    return o
}

/** A document as JSON text: strings pass through (DSL or JSON text), values are serialised. */
fun jsonText(v: Any?): String = when (v) {
    null, JSONObject.NULL -> "null"
    is String -> v
    else -> v.toString()
}
