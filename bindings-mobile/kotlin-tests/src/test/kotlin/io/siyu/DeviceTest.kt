package io.siyu

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** The device API: definitions, the held profile and events, offline evaluation. */
class DeviceTest {
    private val schema = """
        {"traits": {"city": "string", "age": "integer"},
         "events": {"purchase": {"properties": {"amount": "float"}}, "page_viewed": {}}}
    """.trimIndent()
    private val rules = """
        segment buyer: count(purchase, within 30d) >= 1
        segment big_spender: sum(purchase.amount, within 30d) >= 100
        segment shanghai: city = "Shanghai"
    """.trimIndent()
    private val now = "2026-03-01T00:00:00Z"
    private val alice = """{"id": "alice", "traits": {"city": "Shanghai", "age": 31}}"""
    private fun purchase(id: String, at: String, amount: Double): Map<String, Any> =
        mapOf("id" to id, "name" to "purchase", "timestamp" to at, "properties" to mapOf("amount" to JNum(amount.toString())))
    private fun events(vararg e: Map<String, Any>) = writeJson(e.toList())

    private fun verdicts(d: Device) = d.evaluate(now, null).associate { it.name to it.member }

    @Test
    fun evaluatesHeldProfileAndEvents() {
        Device(schema, rules).use { d ->
            assertEquals(listOf("buyer", "big_spender", "shanghai"), d.ruleNames())
            d.setProfile(alice)
            assertEquals(mapOf("buyer" to false, "big_spender" to false, "shanghai" to true), verdicts(d))
            val count = d.addEvents(events(purchase("e1", "2026-02-20T10:00:00Z", 80.0)))
            assertEquals(1u, count)
            assertEquals(mapOf("buyer" to true, "big_spender" to false, "shanghai" to true), verdicts(d))
            d.addEvents(events(purchase("e2", "2026-02-25T10:00:00Z", 30.0), purchase("e1", "2026-02-20T10:00:00Z", 80.0)))
            assertEquals(2u, d.eventCount())
            assertEquals(mapOf("buyer" to true, "big_spender" to true, "shanghai" to true), verdicts(d))
            // Same answer with the rules given in their JSON form.
            Device(schema, rulesToJson(rules)).use { j ->
                j.setProfile(alice)
                j.replaceEvents(d.eventsJson())
                assertEquals(verdicts(d), verdicts(j))
            }
        }
    }

    @Test
    fun explainsVerdicts() {
        Device(schema, rules).use { d ->
            d.setProfile(alice)
            d.addEvents(events(purchase("e1", "2026-02-20T10:00:00Z", 80.0)))
            val ex = d.explain("big_spender", now, "Asia/Shanghai")
            assertEquals("big_spender", ex.rule)
            assertFalse(ex.matched)
            assertEquals(0u, ex.lines.first().depth)
            assertEquals("false", ex.lines.first().truth)
            assertEquals("big_spender", (parseJson(ex.json) as Map<*, *>)["rule"])
            val all = d.explainAll(now, null)
            assertEquals(d.ruleNames(), all.map { it.rule })
            assertEquals(d.evaluate(now, null).map { it.member }, all.map { it.matched })
        }
    }

    @Test
    fun pruningAndReplacingEvents() {
        Device(schema, rules).use { d ->
            d.setProfile(alice)
            d.replaceEvents(events(purchase("old", "2025-01-01T00:00:00Z", 500.0), purchase("new", "2026-02-28T00:00:00Z", 1.0)))
            assertEquals(1u, d.pruneEventsBefore("2026-01-01T00:00:00Z"))
            assertEquals("new", ((parseJson(d.eventsJson()) as List<*>)[0] as Map<*, *>)["id"])
            assertEquals(0u, d.replaceEvents("[]"))
        }
    }

    @Test
    fun failedCallsLeaveStateUnchanged() {
        Device(schema, rules).use { d ->
            assertNull(d.profileJson())
            assertThrows<SiyuException.InvalidArgument> { d.evaluate(now, null) }
            d.setProfile(alice)
            d.addEvents(events(purchase("e1", "2026-02-20T10:00:00Z", 80.0)))
            val before = d.eventsJson()
            val bad = events(purchase("e2", "2026-02-21T10:00:00Z", 5.0), mapOf("id" to "e3", "name" to "nope", "timestamp" to now))
            val e = assertThrows<SiyuException> { d.addEvents(bad) }
            assertTrue(e.path?.startsWith("[1]") == true, "path ${e.path}")
            assertEquals(before, d.eventsJson())
            assertThrows<SiyuException.InvalidProfile> { d.setProfile("""{"id": "x", "traits": {"age": "old"}}""") }
            assertEquals("alice", (parseJson(d.profileJson()!!) as Map<*, *>)["id"])
        }
    }

    @Test
    fun journeyStateExportsAndImportsAsBytes() {
        JourneyRunner(schema, "[]", null).use { runner ->
            Device(schema, rules).use { d ->
                d.setProfile(alice)
                val step = runner.step(d, """{"type": "tick"}""", now)
                assertTrue(step.effects.isEmpty())
                val event = writeJson(mapOf("type" to "event", "event" to purchase("j1", "2026-02-28T00:00:00Z", 5.0)))
                runner.step(d, event, now)
                assertEquals(1u, d.eventCount(), "an event input is added to the device's events")
            }
            val bytes = runner.exportState()
            assertTrue(bytes.isNotEmpty())
            val before = runner.stateJson()
            runner.importState(bytes)
            assertEquals(before, runner.stateJson())
            assertThrows<SiyuException.InvalidState> { runner.importState(byteArrayOf(0x7f, 0x01, 0x02)) }
            assertEquals(before, runner.stateJson())
        }
        assertThrows<SiyuException> { JourneyRunner(schema, "{}", null) }
    }

    private val SiyuException.path get() = info.path
}
