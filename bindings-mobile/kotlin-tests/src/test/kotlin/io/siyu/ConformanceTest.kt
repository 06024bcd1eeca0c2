package io.siyu

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File

/**
 * Kotlin conformance runner: every vector under conformance/ (and the folders in
 * SIYU_EXTRA_VECTORS) through the generated bindings; prints
 * `conformance[kotlin]: N passed, M failed`.
 */
class ConformanceTest {
    private fun vectorFiles(): List<File> {
        val root = File(System.getProperty("siyu.conformance") ?: "../../conformance")
        val dirs = listOf(root) + (System.getenv("SIYU_EXTRA_VECTORS") ?: "").split(':').filter { it.isNotEmpty() }.map(::File)
        val out = mutableListOf<File>()
        fun collect(d: File) {
            val entries = d.listFiles()
            if (entries == null) {
                System.err.println("warning: cannot read vector folder $d")
                return
            }
            for (f in entries) {
                if (f.isDirectory) {
                    if (f.name != "schema") collect(f)
                } else if (f.name.endsWith(".json")) {
                    out.add(f)
                }
            }
        }
        dirs.forEach(::collect)
        return out.sortedBy { it.path }
    }

    private fun field(file: Map<*, *>, case: Map<*, *>, key: String): Any? =
        if (case.containsKey(key)) case[key] else file[key]

    private fun tolerance(file: Map<*, *>, case: Map<*, *>): Double =
        (field(file, case, "tolerance") as? JNum)?.toDouble() ?: 1e-9

    private fun opt(v: Any?): String? = if (v == null || v == JNull) null else v as String

    /** Runs `op`; with `expect_error` it must throw a matching SiyuException. */
    private fun outcome(file: Map<*, *>, case: Map<*, *>, op: () -> Any?) {
        val expectError = case["expect_error"]
        val result = try {
            op()
        } catch (e: SiyuException) {
            if (expectError == null) throw AssertionError("unexpected error: ${e.toJson()}")
            try {
                matches(expectError, e.toJson(), 0.0, "error")
            } catch (m: AssertionError) {
                throw AssertionError("${m.message} (error was: ${e.toJson()})")
            }
            return
        }
        if (expectError != null) throw AssertionError("expected error $expectError, got success")
        matches(case["expect"], result, tolerance(file, case), "result")
    }

    private fun schemaText(file: Map<*, *>, case: Map<*, *>) = jsonText(field(file, case, "schema") ?: emptyMap<String, Any>())

    private fun segment(file: Map<*, *>, case: Map<*, *>) {
        var explanations: Map<String, Any>? = null
        outcome(file, case) {
            Device(schemaText(file, case), jsonText(field(file, case, "rules"))).use { d ->
                d.setProfile(jsonText(field(file, case, "profile") ?: mapOf("id" to "p")))
                d.replaceEvents(jsonText(field(file, case, "events") ?: emptyList<Any>()))
                val now = field(file, case, "now") as String
                val zone = opt(field(file, case, "default_zone"))
                val verdicts = LinkedHashMap<String, Any>()
                for (r in d.evaluate(now, zone)) verdicts[r.name] = r.member
                val explain = case["explain"] as? Map<*, *>
                if (explain != null) {
                    explanations = explain.keys.associate { rule -> rule as String to parseJson(d.explain(rule, now, zone).json) }
                }
                verdicts
            }
        }
        val explain = case["explain"]
        if (explain != null && !case.containsKey("expect_error")) matches(explain, explanations, tolerance(file, case), "explain")
    }

    private fun rulesText(file: Map<*, *>, case: Map<*, *>) = outcome(file, case) {
        val text = field(file, case, "text")
        val source = if (text != null && text != JNull) text as String else jsonText(field(file, case, "json"))
        val json = rulesToJson(source)
        val printed = rulesToText(source)
        // Printing is lossless and stable whatever the case expects.
        if (rulesToJson(printed) != json) throw AssertionError("printed text parses to a different tree:\n$printed")
        if (rulesToText(printed) != printed) throw AssertionError("printing is not stable:\n$printed")
        val expectedJson = (case["expect"] as? Map<*, *>)?.get("json")
        if (expectedJson != null && rulesToJson(jsonText(expectedJson)) != json) {
            throw AssertionError("expected json describes a different tree than the parsed one: $json")
        }
        mapOf("json" to parseJson(json), "text" to printed)
    }

    private fun error(file: Map<*, *>, case: Map<*, *>) {
        if (!case.containsKey("expect_error")) throw AssertionError("an error case needs expect_error")
        val op = field(file, case, "op")
        val schema = { schemaText(file, case) }
        outcome(file, case) {
            when (op) {
                "parse_rules" -> rulesToJson(field(file, case, "text") as String)
                "compile" -> Device(schema(), jsonText(field(file, case, "rules"))).close()
                "profile" -> validateProfile(schema(), jsonText(field(file, case, "profile")))
                "events" -> validateEvents(schema(), jsonText(field(file, case, "events")))
                "zone" -> parseZone(field(file, case, "zone") as String)
                "schema" -> validateSchema(jsonText(field(file, case, "schema")))
                "explain" -> Device(schema(), jsonText(field(file, case, "rules"))).use { d ->
                    d.setProfile("{\"id\": \"p\"}")
                    d.explain(opt(field(file, case, "rule")) ?: "", "2026-01-01T00:00:00Z", null)
                }
                else -> throw AssertionError("unknown error op $op")
            }
        }
    }

    @Test
    fun allVectorsPass() {
        var passed = 0
        var failed = 0
        val failures = mutableListOf<String>()
        for (f in vectorFiles()) {
            val file = try {
                parseJson(f.readText()) as Map<*, *>
            } catch (e: Exception) {
                failed += 1
                failures.add("FAIL $f: not JSON: ${e.message}")
                continue
            }
            val cases = file["cases"] as? List<*> ?: emptyList<Any>()
            if (cases.isEmpty()) {
                failed += 1
                failures.add("FAIL $f: no \"cases\"")
            }
            val kind = file["kind"]
            for ((i, c) in cases.withIndex()) {
                val case = c as? Map<*, *> ?: emptyMap<String, Any>()
                try {
                    when (kind) {
                        "segment" -> segment(file, case)
                        "rules_text" -> rulesText(file, case)
                        "error" -> error(file, case)
                        else -> throw AssertionError("vector kind \"$kind\" is not supported by the kotlin runner")
                    }
                    passed += 1
                } catch (e: Throwable) {
                    failed += 1
                    failures.add("FAIL $f case $i (${case["name"] ?: ""}): ${e.message}")
                }
            }
        }
        failures.forEach { System.err.println(it) }
        println("conformance[kotlin]: $passed passed, $failed failed")
        assertTrue(passed > 0, "no vectors ran")
        assertEquals(0, failed, failures.take(20).joinToString("\n"))
    }
}
