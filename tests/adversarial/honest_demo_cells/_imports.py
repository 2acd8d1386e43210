from figures import plot_steps_on_bowl
from checks import check_loss
from math import pow as power
