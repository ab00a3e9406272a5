// Android library module org.callseal: the UniFFI-generated Kotlin API
// (src/main/kotlin/org/callseal/callseal.kt, generated, not committed), the
// hand-written CallsealApi.kt, and libcallseal_ffi.so per ABI in
// src/main/jniLibs (built with cargo-ndk, not committed). See README.md.
plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.0"
}

android {
    namespace = "org.callseal"
    compileSdk = 35

    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
        ndk {
            abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    sourceSets["main"].kotlin.srcDir("src/main/kotlin")
    sourceSets["test"].kotlin.srcDir("src/test/kotlin")

    testOptions {
        unitTests.all {
            // JVM unit tests load the host build of the library.
            it.systemProperty("jna.library.path", "${rootDir}/../../target/release")
            it.systemProperty("callseal.conformance", "${rootDir}/../../tests/conformance")
            it.systemProperty("callseal.version", "0.1.0")
        }
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // UniFFI's Kotlin bindings call the library through JNA.
    implementation("net.java.dev.jna:jna:5.14.0@aar")
    testImplementation("net.java.dev.jna:jna:5.14.0")
    testImplementation("junit:junit:4.13.2")
}
