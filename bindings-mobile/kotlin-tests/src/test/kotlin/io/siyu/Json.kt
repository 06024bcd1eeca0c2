package io.siyu

/**
 * A minimal JSON reader/writer for the tests. Numbers keep their source text
 * ([JNum]) so documents re-serialise exactly as written (`1.0` stays a float
 * literal); objects keep key order. Values: [JNull], Boolean, String, [JNum],
 * List<Any>, Map<String, Any>.
 */
object JNull {
    override fun toString() = "null"
}

/** A JSON number with its source text. */
data class JNum(val raw: String) {
    fun toDouble(): Double = raw.toDouble()
    override fun toString() = raw
}

/** Parses JSON text. */
fun parseJson(text: String): Any = JsonReader(text).readDocument()

private class JsonReader(private val s: String) {
    private var i = 0

    fun readDocument(): Any {
        val v = read()
        skipWs()
        if (i != s.length) fail("trailing characters")
        return v
    }

    private fun fail(msg: String): Nothing = throw IllegalArgumentException("JSON: $msg at offset $i")

    private fun skipWs() {
        while (i < s.length && s[i].isWhitespace()) i++
    }

    private fun read(): Any {
        skipWs()
        if (i >= s.length) fail("unexpected end")
        return when (val c = s[i]) {
            '{' -> readObject()
            '[' -> readArray()
            '"' -> readString()
            't' -> literal("true", true)
            'f' -> literal("false", false)
            'n' -> literal("null", JNull)
            else -> if (c == '-' || c.isDigit()) readNumber() else fail("unexpected '$c'")
        }
    }

    private fun literal(word: String, value: Any): Any {
        if (!s.startsWith(word, i)) fail("expected $word")
        i += word.length
        return value
    }

    private fun readNumber(): JNum {
        val start = i
        while (i < s.length && (s[i].isDigit() || s[i] in "+-.eE")) i++
        return JNum(s.substring(start, i))
    }

    private fun readString(): String {
        i++ // opening quote
        val sb = StringBuilder()
        while (true) {
            if (i >= s.length) fail("unterminated string")
            val c = s[i++]
            when (c) {
                '"' -> return sb.toString()
                '\\' -> {
                    val e = s[i++]
                    when (e) {
                        'n' -> sb.append('\n')
                        't' -> sb.append('\t')
                        'r' -> sb.append('\r')
                        'b' -> sb.append('\b')
                        'f' -> sb.append('\u000C')
                        'u' -> {
                            sb.append(s.substring(i, i + 4).toInt(16).toChar())
                            i += 4
                        }
                        else -> sb.append(e)
                    }
                }
                else -> sb.append(c)
            }
        }
    }

    private fun readArray(): List<Any> {
        i++
        val out = mutableListOf<Any>()
        skipWs()
        if (s[i] == ']') { i++; return out }
        while (true) {
            out.add(read())
            skipWs()
            when (s[i++]) {
                ',' -> continue
                ']' -> return out
                else -> fail("expected , or ]")
            }
        }
    }

    private fun readObject(): Map<String, Any> {
        i++
        val out = LinkedHashMap<String, Any>()
        skipWs()
        if (s[i] == '}') { i++; return out }
        while (true) {
            skipWs()
            if (s[i] != '"') fail("expected a key")
            val k = readString()
            skipWs()
            if (s[i++] != ':') fail("expected :")
            out[k] = read()
            skipWs()
            when (s[i++]) {
                ',' -> continue
                '}' -> return out
                else -> fail("expected , or }")
            }
        }
    }
}

/** Writes a value as JSON text (strings are written as JSON strings). */
fun writeJson(v: Any?): String = StringBuilder().also { write(it, v) }.toString()

private fun write(sb: StringBuilder, v: Any?) {
    when (v) {
        null, JNull -> sb.append("null")
        is Boolean -> sb.append(v)
        is JNum -> sb.append(v.raw)
        is Number -> sb.append(v)
        is String -> {
            sb.append('"')
            for (c in v) {
                when {
                    c == '"' -> sb.append("\\\"")
                    c == '\\' -> sb.append("\\\\")
                    c == '\n' -> sb.append("\\n")
                    c == '\r' -> sb.append("\\r")
                    c == '\t' -> sb.append("\\t")
                    c < ' ' -> sb.append(String.format("\\u%04x", c.code))
                    else -> sb.append(c)
                }
            }
            sb.append('"')
        }
        is Map<*, *> -> {
            sb.append('{')
            var first = true
            for ((k, x) in v) {
                if (!first) sb.append(',')
                first = false
                write(sb, k.toString())
                sb.append(':')
                write(sb, x)
            }
            sb.append('}')
        }
        is List<*> -> {
            sb.append('[')
            v.forEachIndexed { idx, x ->
                if (idx > 0) sb.append(',')
                write(sb, x)
            }
            sb.append(']')
        }
        else -> throw IllegalArgumentException("cannot write ${v::class}")
    }
}

/** Subset matcher of conformance/README.md (mirrors core/tests/conformance/support.rs). */
fun matches(expected: Any?, actualIn: Any?, tolerance: Double, path: String) {
    val actual = actualIn ?: JNull
    when (expected) {
        is Map<*, *> -> {
            if (actual !is Map<*, *>) throw AssertionError("$path: expected ${writeJson(expected)}, got ${writeJson(actual)}")
            for ((k, v) in expected) matches(v, actual[k], tolerance, "$path.$k")
        }
        is List<*> -> {
            if (actual !is List<*>) throw AssertionError("$path: expected ${writeJson(expected)}, got ${writeJson(actual)}")
            if (expected.size != actual.size) {
                throw AssertionError("$path: expected ${expected.size} items, got ${actual.size}: ${writeJson(actual)}")
            }
            expected.forEachIndexed { idx, e -> matches(e, actual[idx], tolerance, "$path[$idx]") }
        }
        is JNum -> {
            if (actual !is JNum) throw AssertionError("$path: expected $expected, got ${writeJson(actual)}")
            val e = expected.toDouble()
            val a = actual.toDouble()
            if (Math.abs(e - a) > tolerance * Math.max(Math.abs(e), 1.0)) {
                throw AssertionError("$path: expected $e, got $a")
            }
        }
        else -> if (expected != actual) throw AssertionError("$path: expected ${writeJson(expected)}, got ${writeJson(actual)}")
    }
}

/** The JSON form of a siyu error, as the core writes it (position without offset). */
fun SiyuException.toJson(): Map<String, Any> {
    val i = info
    val o = LinkedHashMap<String, Any>()
    o["code"] = i.code
    o["message"] = i.detail
    if (i.line != null && i.column != null) {
        o["position"] = mapOf("line" to JNum(i.line.toString()), "column" to JNum(i.column.toString()))
    }
    i.path?.let { o["path"] = it }
    i.suggestion?.let { o["suggestion"] = it }
    return o
}

/** A document as text: strings pass through (DSL or JSON text), values are serialised. */
fun jsonText(v: Any?): String = if (v is String) v else writeJson(v)
