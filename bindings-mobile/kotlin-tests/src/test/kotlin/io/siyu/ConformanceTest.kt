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

    /** Journey `run` cases: a JourneyRunner stepping with a Device's profile and events. */
    private fun journey(file: Map<*, *>, case: Map<*, *>) {
        val op = field(file, case, "op") ?: "run"
        val errorJson = { e: SiyuException ->
            val j = LinkedHashMap(e.toJson())
            Regex("^([a-z_]+): ").find(e.info.detail)?.let { j["reason"] = it.groupValues[1] }
            j
        }
        val schema = schemaText(file, case)
        val build = {
            JourneyRunner(schema, jsonText(field(file, case, "journeys") ?: emptyList<Any>()), field(file, case, "policies")?.let(::jsonText))
        }
        val tol = tolerance(file, case)
        /** Runs fn; returns its value, or null when the expected error happened. */
        fun <T> expectErr(fn: () -> T): T? {
            val v = try {
                fn()
            } catch (e: SiyuException) {
                val expected = case["expect_error"] ?: throw AssertionError("unexpected error: ${e.toJson()}")
                matches(expected, errorJson(e), 0.0, "error")
                return null
            }
            if (case.containsKey("expect_error")) throw AssertionError("expected an error, got success")
            return v
        }
        fun hex(b: ByteArray) = b.joinToString("") { String.format("%02x", it) }
        when (op) {
            "run" -> {}
            "validate" -> {
                val def = case["journey"] ?: throw AssertionError("validate needs \"journey\"")
                expectErr { validateJourney(jsonText(def), field(file, case, "schema")?.let(::jsonText)) }?.let {
                    matches(case["expect"] ?: emptyMap<String, Any>(), parseJson(it), tol, "expect")
                }
                return
            }
            "engine" -> {
                expectErr { build().use { it.reports() } }?.let { matches(case["expect"] ?: emptyMap<String, Any>(), mapOf("reports" to parseJson(it)), tol, "expect") }
                return
            }
            "hash" -> {
                val h = bucketHash(case["seed"] as String, case["value"] as String, ((case["version"] as? JNum)?.raw ?: "2").toUInt())
                matches(case["expect"], mapOf("hash" to (h?.let { JNum(it.toString()) } ?: JNull)), tol, "expect")
                return
            }
            "encode" -> {
                expectErr {
                    val st = jsonText(case["state"])
                    val bytes = encodeJourneyState(st)
                    val json = decodeJourneyState(bytes)
                    if (hex(encodeJourneyState(json)) != hex(bytes)) throw AssertionError("binary round trip changed the state")
                    mapOf(
                        "bytes_hex" to hex(bytes), "size" to JNum(bytes.size.toString()),
                        "instances" to encodeJourneyInstances(st).map { mapOf("bytes_hex" to hex(it), "size" to JNum(it.size.toString())) },
                        "json" to parseJson(json),
                    )
                }?.let { matches(case["expect"], it, tol, "expect") }
                return
            }
            "decode" -> {
                val h = case["bytes_hex"] as String
                val bytes = ByteArray(h.length / 2) { h.substring(2 * it, 2 * it + 2).toInt(16).toByte() }
                expectErr { decodeJourneyState(bytes) }?.let { matches(case["expect"], mapOf("json" to parseJson(it)), tol, "expect") }
                return
            }
            "migrate" -> {
                build().use { runner ->
                    runner.importStateJson(jsonText(case["state"]))
                    expectErr { runner.migrate(jsonText(case["map"]), field(file, case, "now") as String, case["dry_run"] == true) }
                        ?.let { matches(case["expect"], parseJson(it), tol, "expect") }
                }
                return
            }
            else -> throw AssertionError("unknown journey op $op")
        }
        val steps = case["steps"] as? List<*>
        if (steps == null) {
            val expected = case["expect_error"] ?: throw AssertionError("a case without steps needs expect_error")
            try {
                build().close()
            } catch (e: SiyuException) {
                matches(expected, errorJson(e), 0.0, "error")
                return
            }
            throw AssertionError("expected an error, got success")
        }
        build().use { runner ->
            Device(schema, "").use { device ->
                device.setProfile(jsonText(field(file, case, "profile") ?: mapOf("id" to "u1")))
                device.replaceEvents(jsonText(field(file, case, "events") ?: emptyList<Any>()))
                field(file, case, "state")?.let { runner.importStateJson(jsonText(it)) }
                for ((i, s) in steps.withIndex()) {
                    val step = s as Map<*, *>
                    step["profile"]?.let { device.setProfile(jsonText(it)) }
                    val input = jsonText(step["input"] ?: mapOf("type" to "tick"))
                    val r = try {
                        runner.step(device, input, step["now"] as String)
                    } catch (e: SiyuException) {
                        val expected = step["expect_error"] ?: throw AssertionError("steps[$i]: unexpected error: ${e.toJson()}")
                        matches(expected, errorJson(e), 0.0, "steps[$i].error")
                        continue
                    }
                    if (step.containsKey("expect_error")) throw AssertionError("steps[$i]: expected an error, got success")
                    val before = runner.stateJson()
                    runner.importState(runner.exportState())
                    if (runner.stateJson() != before) throw AssertionError("steps[$i]: state does not round-trip")
                    val state = parseJson(before) as Map<*, *>
                    val actual = mapOf(
                        "effects" to r.effects.map(::parseJson),
                        "notices" to r.notices.map(::parseJson),
                        "next_wake" to (r.nextWake ?: JNull),
                        "instances" to (state["instances"] ?: emptyList<Any>()),
                        "state" to state,
                    )
                    step["expect"]?.let { matches(it, actual, tolerance(file, case), "steps[$i].expect") }
                }
            }
        }
    }

    private fun optDoc(v: Any?): String? = if (v == null || v == JNull) null else jsonText(v)

    /** A `schema` of the model kinds: absent or "default" means the sample schema. */
    private fun modelSchema(file: Map<*, *>, case: Map<*, *>): String? = when (val s = field(file, case, "schema")) {
        null, "default" -> null
        else -> jsonText(s)
    }

    private fun merge(file: Map<*, *>, case: Map<*, *>) = outcome(file, case) {
        parseJson(
            mergeProfilesJson(
                jsonText(field(file, case, "schema")),
                jsonText(field(file, case, "primary")),
                jsonText(field(file, case, "primary_events") ?: emptyList<Any>()),
                jsonText(field(file, case, "secondary")),
                jsonText(field(file, case, "secondary_events") ?: emptyList<Any>()),
                optDoc(field(file, case, "policy")),
            ),
        )
    }

    private fun erasure(file: Map<*, *>, case: Map<*, *>) = outcome(file, case) {
        parseJson(
            eraseJson(
                jsonText(field(file, case, "schema")),
                jsonText(field(file, case, "profile")),
                jsonText(field(file, case, "events") ?: emptyList<Any>()),
                optDoc(field(file, case, "request")),
            ),
        )
    }

    private fun lifecycle(file: Map<*, *>, case: Map<*, *>) = outcome(file, case) {
        val schema = modelSchema(file, case)
        val model = when (val m = field(file, case, "model")) {
            null, "default" -> null
            else -> jsonText(m)
        }
        val zone = opt(field(file, case, "default_zone"))
        val profile = jsonText(field(file, case, "profile") ?: mapOf("id" to "u1"))
        val events = jsonText(field(file, case, "events") ?: emptyList<Any>())
        when (val op = field(file, case, "op") ?: "evaluate") {
            "compile" -> mapOf("stages" to lifecycleRuleNames(schema, model))
            "evaluate" -> {
                val o = parseJson(
                    lifecycleEvaluate(schema, model, profile, events, field(file, case, "now") as String, optDoc(field(file, case, "previous")), zone),
                ) as Map<*, *>
                val st = o["state"] as Map<*, *>
                mapOf(
                    "stage" to st["stage"], "since" to st["since"], "matched" to o["matched"], "rule" to o["rule"],
                    "reason" to o["reason"], "held" to o["held"], "transition" to o["transition"],
                )
            }
            "replay" -> {
                val days = parseJson(
                    lifecycleReplay(
                        schema, model, profile, events, field(file, case, "from") as String, field(file, case, "to") as String,
                        zone, optDoc(field(file, case, "initial")),
                    ),
                ) as List<*>
                mapOf(
                    "stages" to days.map { (it as Map<*, *>)["stage"] },
                    "transitions" to days.map { (it as Map<*, *>)["transition"] }.filter { it != null && it != JNull },
                    "days" to days,
                )
            }
            else -> throw AssertionError("unknown lifecycle op $op")
        }
    }

    private fun tags(file: Map<*, *>, case: Map<*, *>) = outcome(file, case) {
        val schema = modelSchema(file, case)
        val rules = jsonText(field(file, case, "tag_rules") ?: throw AssertionError("case needs `tag_rules`"))
        var profile = jsonText(field(file, case, "profile") ?: mapOf("id" to "u1"))
        val events = jsonText(field(file, case, "events") ?: emptyList<Any>())
        val zone = opt(field(file, case, "default_zone"))
        val steps = field(file, case, "steps") as? List<*>
        val out = mutableListOf<Any>()
        for (now in steps ?: listOf(field(file, case, "now"))) {
            val r = parseJson(applyTagRules(schema, rules, profile, events, now as String, zone)) as Map<*, *>
            profile = writeJson(r["profile"])
            val tags = ((r["profile"] as Map<*, *>)["tags"] as? List<*>) ?: emptyList<Any>()
            val again = parseJson(applyTagRules(schema, rules, profile, events, now, zone)) as Map<*, *>
            profile = writeJson(again["profile"])
            val d = again["diff"] as Map<*, *>
            val empty = listOf("added", "removed", "expired").all { (d[it] as List<*>).isEmpty() }
            val row = LinkedHashMap<String, Any?>()
            row.putAll((r["diff"] as Map<*, *>).map { (k, v) -> k as String to v })
            row["tag_names"] = tags.map { (it as Map<*, *>)["name"] as String }.sorted()
            row["tags"] = tags
            row["reapply_empty"] = empty
            out.add(row)
        }
        if (steps != null) mapOf("steps" to out) else out[0]
    }

    private fun req(file: Map<*, *>, case: Map<*, *>, k: String): Any = field(file, case, k) ?: throw AssertionError("case needs `$k`")

    private fun rfm(file: Map<*, *>, case: Map<*, *>) = outcome(file, case) {
        val schema = modelSchema(file, case)
        val events = jsonText(field(file, case, "events") ?: emptyList<Any>())
        when (val op = field(file, case, "op") ?: "") {
            "values" -> mapOf("values" to parseJson(rfmValues(schema, events, req(file, case, "now") as String, optDoc(field(file, case, "config")))))
            "fit" -> parseJson(rfmFit((field(file, case, "method") ?: "quantile") as String, jsonText(req(file, case, "population"))))
            "score" -> mapOf("scores" to parseJson(rfmScore(jsonText(req(file, case, "thresholds")), jsonText(req(file, case, "values")))))
            "segment" -> mapOf("segment" to parseJson(rfmSegment(optDoc(field(file, case, "map")), jsonText(req(file, case, "scores")))))
            "profile" -> {
                val now = req(file, case, "now") as String
                val out = LinkedHashMap(
                    parseJson(
                        rfmApply(
                            schema, jsonText(field(file, case, "profile") ?: mapOf("id" to "u1")), events, now,
                            jsonText(req(file, case, "thresholds")), optDoc(field(file, case, "config")),
                            optDoc(field(file, case, "map")), field(file, case, "group") as String?,
                        ),
                    ) as Map<*, *>,
                )
                val rules = field(file, case, "rules")
                if (out["values"] != JNull && rules != null) {
                    Device(schema ?: sampleSchema(), jsonText(rules)).use { d ->
                        d.setProfile(writeJson(out["profile"]))
                        d.replaceEvents(events)
                        out["rules"] = d.evaluate(now, null).associate { it.name to it.member }
                    }
                }
                out
            }
            else -> throw AssertionError("unknown rfm op $op")
        }
    }

    private fun points(file: Map<*, *>, case: Map<*, *>) = outcome(file, case) {
        val model = when (val m = field(file, case, "model")) {
            null, "default" -> null
            else -> jsonText(m)
        }
        PointsEngine(modelSchema(file, case), model).use { m ->
            val zone = opt(field(file, case, "zone"))
            if (zone != null) parseZone(zone)
            val events = jsonText(field(file, case, "events") ?: emptyList<Any>())
            when (val op = field(file, case, "op") ?: "") {
                "model" -> mapOf("valid" to true)
                "ledger" -> {
                    var ledger = optDoc(field(file, case, "ledger"))
                    val stepErrors = mutableListOf<Any>()
                    for (st in (field(file, case, "steps") as? List<*>) ?: emptyList<Any>()) {
                        val step = st as Map<*, *>
                        try {
                            ledger = when {
                                step.containsKey("event") -> writeJson((parseJson(m.applyEvent(ledger, jsonText(step["event"]), zone)) as Map<*, *>)["ledger"])
                                step.containsKey("redeem") -> writeJson(
                                    (parseJson(m.redeem(ledger, (step["redeem"] as JNum).raw.toLong(), step["at"] as String, (step["reference"] ?: "") as String)) as Map<*, *>)["ledger"],
                                )
                                step.containsKey("expire") -> m.expire(ledger, step["expire"] as String)
                                else -> throw AssertionError("unknown step ${writeJson(step)}")
                            }
                            stepErrors.add(JNull)
                        } catch (e: SiyuException) {
                            stepErrors.add(e.code)
                        }
                    }
                    LinkedHashMap(parseJson(m.summary(ledger, req(file, case, "now") as String)) as Map<*, *>).also { it["step_errors"] = stepErrors }
                }
                "events" -> {
                    val now = req(file, case, "now") as String
                    parseJson(m.summary(m.applyEvents(null, events, now, zone), now))
                }
                "tier" -> {
                    var state = optDoc(field(file, case, "initial"))
                    var ledger: String? = null
                    val out = mutableListOf<Any>()
                    for (at in (field(file, case, "evaluations") as? List<*>) ?: emptyList<Any>()) {
                        ledger = m.applyEvents(ledger, events, at as String, zone)
                        val o = parseJson(m.evaluateTier(ledger, events, state, at)) as Map<*, *>
                        out.add(o)
                        state = writeJson(o["state"])
                    }
                    mapOf("evaluations" to out)
                }
                "engagement" -> mapOf("score" to JNum(m.engagement(events, req(file, case, "now") as String).toString()))
                else -> throw AssertionError("unknown points op $op")
            }
        }
    }

    private fun analytics(file: Map<*, *>, case: Map<*, *>) = outcome(file, case) {
        // The request is the file's shared fields overlaid with the case's.
        val request = LinkedHashMap<Any?, Any?>()
        for ((k, v) in file) if (k != "cases" && k != "kind") request[k] = v
        request.putAll(case)
        parseJson(analyticsRun(field(file, case, "op") as String, writeJson(request)))
    }

    private fun clv(file: Map<*, *>, case: Map<*, *>) = outcome(file, case) {
        val f = { k: String -> field(file, case, k) }
        fun request(vararg pairs: Pair<String, Any?>) = writeJson(pairs.filter { it.second != null }.toMap())
        when (val op = f("op")) {
            "summarize", "calibration_holdout" -> mapOf(
                "customers" to parseJson(
                    clvSummarize(
                        request(
                            "transactions" to f("transactions"), "observation_end" to f("observation_end"),
                            "calibration_end" to (if (op == "calibration_holdout") (f("calibration_end") ?: JNull) else null),
                            "unit" to f("unit"), "zone" to f("zone"), "decimals" to f("decimals"),
                        ),
                    ),
                ),
            )
            "fit" -> parseJson(
                clvFit(
                    request(
                        "model" to f("model"), "frequency" to f("frequency"), "recency" to f("recency"), "T" to f("T"),
                        "monetary_value" to f("monetary_value"), "penalizer" to f("penalizer"),
                    ),
                ),
            )
            "predict" -> parseJson(clvPredict(request("params" to f("params"), "t" to f("t"), "customers" to f("customers"))))
            "spend" -> parseJson(clvSpend(request("params" to f("params"), "customers" to f("customers"))))
            "clv" -> mapOf(
                "clv" to parseJson(
                    clvLifetimeValue(
                        request(
                            "model" to f("model"), "customers" to f("customers"), "months" to f("months"),
                            "discount_rate" to f("discount_rate"), "unit" to f("unit"),
                        ),
                    ),
                ),
            )
            "model_document" -> mapOf("document" to parseJson(clvModelDocument(jsonText(f("document")))))
            else -> throw AssertionError("unknown clv op $op")
        }
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
                        "journey" -> journey(file, case)
                        "merge" -> merge(file, case)
                        "erasure" -> erasure(file, case)
                        "lifecycle" -> lifecycle(file, case)
                        "tags" -> tags(file, case)
                        "rfm" -> rfm(file, case)
                        "points" -> points(file, case)
                        "clv" -> clv(file, case)
                        "analytics" -> analytics(file, case)
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
