"""vehicle: pybullet's racecar drives over bumps while steering (friction).

The racecar URDF (pybullet_data racecar/racecar.urdf, scaled 4x: a 1.6 m chassis on wheels of
0.2 m radius) starts at rest on the left, facing +x. From the first step its four wheel motors
spin at the commanded speed and its two steering hinges hold the commanded angle, so it drives
an arc over low grey bumps lying across its path. Principle: friction. The car moves only
because static friction at the wheel contacts pushes it, so it goes where its wheels point, at
about the speed at which they roll (no sideways sliding, no wheels spinning in place, no motion
without wheel contact). Its chassis is tracked (a palette colour); wheels, hinges and sensors
are grey.
"""
from __future__ import annotations

from ..scene import Body, Box, Camera, Scene, URDFAsset
from .base import FAMILIES, Family, camera, colours, floor_and_backdrop, grey, view_words

URDF_PATH = "racecar/racecar.urdf"
SCALE = 4.0
WHEEL_RADIUS = 0.05 * SCALE
WHEELS = ("left_rear_wheel", "right_rear_wheel", "left_front_wheel", "right_front_wheel")
STEERING_HINGES = ("left_steering_hinge", "right_steering_hinge")
WHEEL_TORQUE = 20.0
"""Most torque (N m) a wheel motor gives; enough to climb the bumps, too little to spin the wheels."""
START = (-1.75, 0.0, WHEEL_RADIUS + 0.01)
BUMP_XS = (-0.2, 0.65, 1.5)
BUMP_HALF_WIDTH, BUMP_HALF_LENGTH = 0.12, 1.6
CAR_LENGTH_M = 1.6
"""Length of the scaled chassis (racecar.urdf's 0.4 m times SCALE), for the prompt."""
VEHICLE_CAMERA = Camera(eye=(0.4, -4.2, 3.0), target=(0.4, 0.3, 0.1), fov_deg=50.0)


@FAMILIES.register("vehicle")
class Vehicle(Family):
    name = "vehicle"
    principle = "friction"
    in_distribution = {"speed": (0.6, 0.95), "steering": (-0.3, 0.3), "bump_height": (0.04, 0.09),
                       "bumps": (0.5, 3.49)}
    ood = {"speed": (1.05, 1.25), "bump_height": (0.1, 0.13)}

    def build(self, params: dict) -> Scene:
        [(colour, rgb)] = colours(params, 1)
        self.speed, self.steering = params["speed"], params["steering"]
        self.joints: dict[str, int] = {}
        car = Body("car", "vehicle", URDFAsset(URDF_PATH, scale=SCALE, link_colours=(("chassis", rgb),),
                                               tracked_links=("chassis",), default_rgb=grey(90)),
                   rgb, START, lateral_friction=1.0, restitution=0.0)
        n_bumps = int(round(params["bumps"]))
        height = params["bump_height"]
        bumps = [Body(f"bump_{index}", "scenery", Box((BUMP_HALF_WIDTH, BUMP_HALF_LENGTH, height / 2)), grey(120),
                      (x, 0.0, height / 2), mass=0.0, lateral_friction=1.0, restitution=0.0, tracked=False)
                 for index, x in enumerate(BUMP_XS[:n_bumps])]
        turn = "left" if self.steering > 0.03 else "right" if self.steering < -0.03 else "straight on"
        bump_words = {1: "a low grey bump", 2: "two low grey bumps", 3: "three low grey bumps"}[n_bumps]
        view = camera(params, VEHICLE_CAMERA)
        prompt = (f"A toy racecar {CAR_LENGTH_M:.1f} m long with a flat {colour} chassis on four grey wheels starts from "
                  f"rest on the left and drives to the right at {self.speed:.1f} m/s over {bump_words} lying across a grey "
                  "floor, steering "
                  f"{turn}. {view_words(view)}")
        events = {"commanded_speed_mps": self.speed, "commanded_steering_rad": self.steering,
                  "wheel_radius_m": WHEEL_RADIUS, "bump_height_m": height}
        return Scene([*floor_and_backdrop(params), *bumps, car], view, prompt, events=events)

    def animate(self, sim, time_s: float) -> None:
        """Wheel motors at speed / radius (rad/s), steering hinges held at the steering angle."""
        client, car = sim.client, sim.body_ids["car"]
        if not self.joints:
            for joint in range(client.getNumJoints(car)):
                self.joints[client.getJointInfo(car, joint)[12].decode()] = joint
            for joint in self.joints.values():  # every joint free unless driven below
                client.setJointMotorControl2(car, joint, client.VELOCITY_CONTROL, targetVelocity=0.0, force=0.0)
            for name in WHEELS:
                client.setJointMotorControl2(car, self.joints[name], client.VELOCITY_CONTROL,
                                             targetVelocity=self.speed / WHEEL_RADIUS, force=WHEEL_TORQUE)
            for name in STEERING_HINGES:
                client.setJointMotorControl2(car, self.joints[name], client.POSITION_CONTROL,
                                             targetPosition=self.steering, force=50.0)

    def events(self, scene: Scene, tracks, contacts: list[dict]) -> dict:
        """Per frame, the wheels touching the floor or a bump (from the contacts' link indices)."""
        n_frames = int(tracks["t"].max()) + 1
        wheel_of_link = {self.joints[name]: name for name in WHEELS}  # a joint's index is its child link's
        touching: list[set[str]] = [set() for _ in range(n_frames)]
        for contact in contacts:
            for side, other in (("a", "b"), ("b", "a")):
                if contact[side] == "car" and contact[other] != "car" and contact[f"link_{side}"] in wheel_of_link:
                    touching[contact["frame"]].add(wheel_of_link[contact[f"link_{side}"]])
        return {"wheel_contacts": [sorted(names) for names in touching]}
