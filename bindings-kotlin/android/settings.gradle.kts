// A standalone Gradle build for the Android library module in this folder
// (android/build-aar.sh runs it). To use the module inside an app's build
// instead, include this folder as a module there and run build-aar.sh's
// native and bindings steps first.
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

rootProject.name = "tokenkeep-android"
