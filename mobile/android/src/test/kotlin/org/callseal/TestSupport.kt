// Helpers of the JVM tests: hex, a small JSON reader for the conformance
// files, and where those files are.
package org.callseal

import java.io.File

/** Lowercase hex of these bytes. */
fun ByteArray.hex(): String = joinToString("") { "%02x".format(it.toInt() and 0xff) }

/** The bytes of a hex string. */
fun String.unhex(): ByteArray {
    require(length % 2 == 0) { "odd hex length" }
    return ByteArray(length / 2) { i -> substring(2 * i, 2 * i + 2).toInt(16).toByte() }
}

/** The folder of the committed conformance files (system property `callseal.conformance`). */
fun conformanceDir(): File {
    val dir = System.getProperty("callseal.conformance")
        ?: error("set -Dcallseal.conformance=<repo>/tests/conformance")
    return File(dir)
}

/** The `cases` of one conformance file, after checking its version. */
@Suppress("UNCHECKED_CAST")
fun loadCases(name: String, version: Long = 1L): List<Map<String, Any?>> {
    val file = Json.parse(File(conformanceDir(), name).readText()) as Map<String, Any?>
    check(file["version"] == version) { "$name: version ${file["version"]}, expected $version" }
    val cases = file["cases"] as List<Map<String, Any?>>
    check(cases.isNotEmpty()) { "$name has no cases" }
    return cases
}

fun Map<String, Any?>.str(key: String): String = this[key] as? String ?: error("no string $key")
fun Map<String, Any?>.bytes(key: String): ByteArray = str(key).unhex()
fun Map<String, Any?>.u64(key: String): ULong = str(key).toULong()
fun Map<String, Any?>.suite(): UShort = (this["suite"] as Long).toUShort()
fun Map<String, Any?>.bool(key: String): Boolean = this[key] as? Boolean ?: error("no boolean $key")
fun Map<String, Any?>.long(key: String): Long = this[key] as? Long ?: error("no integer $key")
@Suppress("UNCHECKED_CAST")
fun Map<String, Any?>.obj(key: String): Map<String, Any?> = this[key] as Map<String, Any?>
@Suppress("UNCHECKED_CAST")
fun Map<String, Any?>.list(key: String): List<Any?> = this[key] as List<Any?>

/**
 * A JSON reader for the conformance files: objects become maps, arrays
 * lists, integers Long, strings String. Enough for these files, strict
 * about what it accepts.
 */
object Json {
    fun parse(text: String): Any? {
        val p = Parser(text)
        val value = p.value()
        p.ws()
        check(p.i == text.length) { "trailing characters at ${p.i}" }
        return value
    }

    private class Parser(val s: String) {
        var i = 0

        fun ws() {
            while (i < s.length && s[i].isWhitespace()) i++
        }

        fun value(): Any? {
            ws()
            check(i < s.length) { "unexpected end" }
            return when (s[i]) {
                '{' -> obj()
                '[' -> arr()
                '"' -> str()
                't' -> lit("true", true)
                'f' -> lit("false", false)
                'n' -> lit("null", null)
                else -> num()
            }
        }

        fun lit(word: String, v: Any?): Any? {
            check(s.startsWith(word, i)) { "bad literal at $i" }
            i += word.length
            return v
        }

        fun num(): Long {
            val start = i
            if (s[i] == '-') i++
            while (i < s.length && s[i].isDigit()) i++
            return s.substring(start, i).toLong()
        }

        fun str(): String {
            check(s[i] == '"')
            i++
            val out = StringBuilder()
            while (true) {
                val c = s[i++]
                when (c) {
                    '"' -> return out.toString()
                    '\\' -> {
                        val e = s[i++]
                        when (e) {
                            'n' -> out.append('\n')
                            't' -> out.append('\t')
                            'r' -> out.append('\r')
                            'b' -> out.append('\b')
                            'f' -> out.append('\u000c')
                            'u' -> {
                                out.append(s.substring(i, i + 4).toInt(16).toChar())
                                i += 4
                            }
                            else -> out.append(e)
                        }
                    }
                    else -> out.append(c)
                }
            }
        }

        fun arr(): List<Any?> {
            i++
            val out = mutableListOf<Any?>()
            ws()
            if (s[i] == ']') { i++; return out }
            while (true) {
                out.add(value())
                ws()
                when (s[i++]) {
                    ',' -> continue
                    ']' -> return out
                    else -> error("bad array at $i")
                }
            }
        }

        fun obj(): Map<String, Any?> {
            i++
            val out = LinkedHashMap<String, Any?>()
            ws()
            if (s[i] == '}') { i++; return out }
            while (true) {
                ws()
                val key = str()
                ws()
                check(s[i++] == ':') { "expected : at $i" }
                out[key] = value()
                ws()
                when (s[i++]) {
                    ',' -> continue
                    '}' -> return out
                    else -> error("bad object at $i")
                }
            }
        }
    }
}
