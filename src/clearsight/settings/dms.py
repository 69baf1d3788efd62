"""Driver-monitoring thresholds, with their sources.

A pydantic model so the lead can wire it into `clearsight.config.Settings` as
`dms` (env `CLEARSIGHT_DMS__LONG_GLANCE_S=...`); until then `DmsSettings()` gives
the defaults and every class accepts an instance.

Sources of the defaults:
* Distraction: Euro NCAP Assessment Protocol – Safety Assist / Safe Driving,
  Driver State Monitoring: a *long distraction* is a single glance away from the
  forward road of >= 3 s; *visual attention time sharing* is > 10 s cumulative
  glances away within a 30 s window.
* Eye closure: Euro NCAP's driver-state scenarios separate microsleep (eye
  closures of roughly 1-3 s) from sleep (closure beyond 3 s). We alert
  `dms.microsleep` when a closure reaches 1 s and again (level "sleep") at 3 s.
  Closures shorter than 0.5 s are blinks (typical blink 0.1-0.4 s).
* Drowsiness: PERCLOS P80 — the proportion of time over one minute the eyes are
  >= 80% closed (Wierwille et al. 1994; Dinges & Grace 1998, FHWA tech brief
  FHWA-MCRT-98-006, which found it the most reliable ocular drowsiness measure).
  0.15 over 60 s is the "drowsy" level most studies following Wierwille &
  Ellsworth use; it is a setting, not a law.
These are our reading of the protocols: check the protocol version your programme
is assessed against and set the numbers accordingly.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class DmsSettings(BaseModel):
    # --- calibration (per driver) ---
    calibration_s: float = Field(5.0, description="face-visible seconds to learn neutral gaze and open-eye baseline")
    default_open_baseline: float = Field(0.24, description="eye-contour lid gap / width of an open eye before calibration")
    # --- eye state ---
    closed_ratio: float = Field(0.65, description="The eye model's lid gap on a fully closed eye is still ~40-65% of the open gap (lashes, lid thickness; see bench/dms.py eye crops: closed median 0.107 vs open ~0.25), so \"closed\" (our P80 proxy) is a gap under 0.65 x the driver's baseline; hysteresis: it is open again above 0.75 x baseline.")
    reopen_ratio: float = Field(0.75, description="Hysteresis: the eye is open again above this x the driver's open baseline.")
    blink_max_s: float = Field(0.5, description="Closures shorter than this are blinks (a typical blink lasts 0.1-0.4 s).")
    microsleep_s: float = Field(1.0, description="A closure this long raises dms.microsleep (Euro NCAP: microsleep ~1-3 s).")
    sleep_s: float = Field(3.0, description="A closure this long raises dms.microsleep at level sleep.")
    # --- PERCLOS ---
    perclos_window_s: float = Field(60.0, description="PERCLOS window in seconds (P80 over one minute, Wierwille et al. 1994).")
    perclos_drowsy: float = Field(0.15, description="PERCLOS at or above this is drowsy (0.15 in most studies following Wierwille & Ellsworth).")
    drowsy_cooldown_s: float = Field(60.0, description="Least seconds between two dms.drowsy alerts.")
    # --- distraction (Euro NCAP) ---
    offroad_yaw_deg: float = Field(30.0, description="|gaze yaw - neutral| beyond this is off the road")
    offroad_down_deg: float = Field(25.0, description="Gaze this far below the neutral gaze, in degrees, is off the road.")
    offroad_up_deg: float = Field(20.0, description="Gaze this far above the neutral gaze, in degrees, is off the road.")
    long_glance_s: float = Field(3.0, description="Euro NCAP long distraction: one glance away from the road of at least this many seconds.")
    cumulative_window_s: float = Field(30.0, description="Euro NCAP visual attention time sharing: the window in seconds.")
    cumulative_s: float = Field(10.0, description="Euro NCAP visual attention time sharing: cumulative seconds away within the window.")
    # --- yawning ---
    yawn_open: float = Field(0.30, description="inner-lip gap / mouth width (bench/dms.py: yawn frames >= ~0.3, others <= ~0.23)")
    yawn_close: float = Field(0.22, description="Inner-lip gap / mouth width under which a yawn has ended (hysteresis).")
    yawn_min_s: float = Field(1.0, description="speech opens the mouth for << 1 s at a time")
    # --- presence ---
    absent_s: float = Field(2.0, description="Seconds without a face before dms.driver_absent.")
    dark_below: float = Field(35.0, description="Mean frame brightness (0-255) under which the camera counts as dark.")
    blocked_contrast_below: float = Field(6.0, description="Frame contrast under which the camera counts as blocked.")
    # --- agitation ---
    agitation_window_s: float = Field(10.0, description="Seconds of expression over which agitation is averaged.")
    agitation_threshold: float = Field(0.6, description="Mean agitation score at or above this is agitated.")
    agitation_min_s: float = Field(5.0, description="Agitation must last this long before an alert.")
    agitation_cooldown_s: float = Field(60.0, description="Least seconds between two agitation alerts.")
    # --- timing ---
    max_frame_gap_s: float = Field(0.5, description="a frame's state is not extrapolated beyond this (dropped frames)")
