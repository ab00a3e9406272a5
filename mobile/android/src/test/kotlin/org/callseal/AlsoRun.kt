// Test classes that run with another one: `@RunWith(WithCompanions::class)
// @AlsoRun(A::class, B::class)` on a class runs its own tests, then those
// of A and B, so a runner given only that class's name runs them all.
package org.callseal

import kotlin.reflect.KClass
import org.junit.runner.Runner
import org.junit.runners.BlockJUnit4ClassRunner
import org.junit.runners.Suite

/** The test classes [WithCompanions] runs after the annotated one. */
@Retention(AnnotationRetention.RUNTIME)
@Target(AnnotationTarget.CLASS)
annotation class AlsoRun(vararg val value: KClass<*>)

/** Runs the annotated class's tests, then those of its [AlsoRun] classes. */
class WithCompanions(klass: Class<*>) : Suite(klass, runners(klass)) {
    private companion object {
        fun runners(klass: Class<*>): List<Runner> {
            val companions = klass.getAnnotation(AlsoRun::class.java)?.value ?: emptyArray()
            return listOf<Runner>(BlockJUnit4ClassRunner(klass)) +
                companions.map { BlockJUnit4ClassRunner(it.java) }
        }
    }
}
