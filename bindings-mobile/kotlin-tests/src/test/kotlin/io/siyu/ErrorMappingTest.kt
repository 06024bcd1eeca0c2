package io.siyu

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** Core errors arrive as SiyuException variants carrying the stable code. */
class ErrorMappingTest {
    private val schema = """{"traits": {"city": "string"}, "events": {"purchase": {}}}"""

    @Test
    fun syntaxErrorsCarryPosition() {
        val e = assertThrows<SiyuException.RuleSyntax> { rulesToJson("segment a: count(purchase) >=\nsegment b: city =") }
        assertEquals("RULE_SYNTAX", e.code)
        assertTrue(e.info.line != null && e.info.column != null)
    }

    @Test
    fun unknownNamesCarrySuggestions() {
        val e = assertThrows<SiyuException.UnknownTrait> { Device(schema, "segment x: ciyt = \"Shanghai\"") }
        assertEquals("UNKNOWN_TRAIT", e.code)
        assertEquals("city", e.info.suggestion)
    }

    @Test
    fun documentErrorsMapToTheirCodes() {
        assertEquals("INVALID_TIME_ZONE", assertThrows<SiyuException.InvalidTimeZone> { parseZone("Mars/Olympus") }.code)
        assertEquals("Asia/Shanghai", parseZone("Asia/Shanghai"))
        val s = assertThrows<SiyuException> { validateSchema("{\"traits\": {\"a\": \"nonsense\"}}") }
        assertEquals("INVALID_SCHEMA", s.code)
        assertEquals("INVALID_PROFILE", assertThrows<SiyuException> { validateProfile(schema, "{\"id\": 1}") }.code)
        assertEquals("INVALID_EVENT", assertThrows<SiyuException> { validateEvents(schema, "{}") }.code)
    }

    @Test
    fun errorsAreExceptionsWithReadableMessages() {
        val e = assertThrows<SiyuException> { parseZone("Mars/Olympus") }
        assertTrue(e is Exception)
        assertTrue(e.info.detail.isNotEmpty())
        assertEquals(e.code, e.toJson()["code"])
    }
}
