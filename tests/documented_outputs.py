"""The printed outputs the four source texts document: the course's spec.

Each entry: the seed file (in ../shared/seeds when that folder is present), the chapter that
reproduces it, and its documented lines in order. tests/test_documented_outputs.py checks that the
lines really stand in the seed, and that the executed reference solutions print them in order.
"""
DOCUMENTED = [
    ("003_a399d365eec419c7.txt", "ch1_the_idea/the_idea.ipynb",
     ["0.6", "1.08", "1.464", "1.7712", "2.017"]),
    ("000_a60440d777910709.txt", "ch3_pytorch_slope/pytorch_slope.ipynb",
     ["f(-3.0) = 1.5e+01", "f(-1.6) = 6.9", "f(-0.81) = 4.8", "f(-0.42) = 4.2", "f(-0.22) = 4.1",
      "f(-0.11) = 4.0", "f(-0.059) = 4.0", "f(-0.031) = 4.0", "f(-0.016) = 4.0", "f(-0.0083) = 4.0"]),
    ("002_6806358a14ac8be5.txt", "ch4_fitting_a_line/fitting_a_line.ipynb",
     ["Learned weight: 2.0000", "Learned bias: 1.0000"]),
    # The written answer to "What do you notice?" (a markdown cell, not printed output).
    ("001_8390d73bc1ee610e.txt", "ch2_implement/gradient_descent.ipynb",
     ["A low learning rate reduces the speed of convergence; whereas with a high learning rate, "
      "there are greater risks of divergence."]),
]
