// The callseal Android library, openable on its own in Android Studio.
// Not built on this project's CI (no Android SDK there): see README.md.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "callseal"
