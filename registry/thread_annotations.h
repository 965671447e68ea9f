// Clang's thread-safety attributes (-Wthread-safety), as LevelDB's
// port/thread_annotations.h spells them. Empty for other compilers (GCC).
// They state lock contracts the compiler checks: which mutex guards a
// field (GUARDED_BY), which a function needs held (REQUIRES) or must not
// hold (EXCLUDES), and which it takes or drops (ACQUIRE, RELEASE).
// NO_THREAD_SAFETY_ANALYSIS goes, with a one-line reason, on the smallest
// function whose locking the analysis cannot follow.
#ifndef REGFS_REGISTRY_THREAD_ANNOTATIONS_H_
#define REGFS_REGISTRY_THREAD_ANNOTATIONS_H_

#if defined(__clang__)
#define REGFS_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define REGFS_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) REGFS_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY REGFS_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) REGFS_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) REGFS_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_AFTER(...) REGFS_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define REQUIRES(...) \
  REGFS_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) REGFS_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) REGFS_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define EXCLUDES(...) REGFS_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) REGFS_THREAD_ANNOTATION(assert_capability(x))
#define RETURN_CAPABILITY(x) REGFS_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS \
  REGFS_THREAD_ANNOTATION(no_thread_safety_analysis)

#endif  // REGFS_REGISTRY_THREAD_ANNOTATIONS_H_
