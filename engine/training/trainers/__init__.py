"""The trainers rft builds itself: PPO's trainer and the maths behind it."""
