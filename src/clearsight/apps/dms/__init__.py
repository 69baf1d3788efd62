"""Driver monitoring: drowsiness, distraction, yawning and agitation from a cabin camera."""
